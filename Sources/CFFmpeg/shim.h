// FFmpeg (libavformat, libavcodec, libavutil, libswscale) for the Media target. Macros re-exported as
// functions and constants. Translation only.
#ifndef CFFMPEG_SHIM_H
#define CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/dict.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

static inline int CFFmpeg_AVERROR(int e) { return AVERROR(e); }
static const int CFFmpeg_AVERROR_EOF = AVERROR_EOF;
static const int64_t CFFmpeg_AV_NOPTS_VALUE = AV_NOPTS_VALUE;
static const int CFFmpeg_AV_TIME_BASE = AV_TIME_BASE;
static inline int CFFmpeg_EAGAIN(void) { return AVERROR(EAGAIN); }
#endif
