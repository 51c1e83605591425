/* The floor for the runtime benchmark: a C Lambda "echo" client that does only the two HTTP round trips per
 * invocation (GET next, POST response) over one keep-alive socket, with no JSON, logging or error handling beyond
 * stopping. Not product code: it exists to measure how much our runtime adds on top of the bare protocol. */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static char buf[8 << 20];
static size_t len = 0;

static int fill(int fd) {
    ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);
    if (n <= 0) return -1;
    len += (size_t)n;
    return 0;
}

/* Reads one response; copies the request id header (if any) into id and the body into body. */
static int read_response(int fd, char *id, char **body, size_t *body_len) {
    char *end;
    while (!(end = memmem(buf, len, "\r\n\r\n", 4)))
        if (fill(fd)) return -1;
    size_t head = (size_t)(end - buf) + 4;
    size_t content = 0;
    id[0] = 0;
    for (char *line = buf; line < end; ) {
        char *eol = memmem(line, (size_t)(end - line) + 2, "\r\n", 2);
        if (!strncasecmp(line, "Content-Length:", 15)) content = strtoul(line + 15, NULL, 10);
        if (!strncasecmp(line, "Lambda-Runtime-Aws-Request-Id:", 30)) {
            char *v = line + 30;
            while (*v == ' ') v++;
            size_t n = (size_t)(eol - v);
            memcpy(id, v, n);
            id[n] = 0;
        }
        line = eol + 2;
    }
    while (len < head + content)
        if (fill(fd)) return -1;
    static char copy[8 << 20];
    memcpy(copy, buf + head, content);
    *body = copy;
    *body_len = content;
    memmove(buf, buf + head + content, len - head - content);
    len -= head + content;
    return 0;
}

int main(void) {
    const char *api = getenv("AWS_LAMBDA_RUNTIME_API");
    if (!api) return 1;
    char host[64];
    const char *colon = strrchr(api, ':');
    snprintf(host, sizeof host, "%.*s", (int)(colon - api), api);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(colon + 1))};
    inet_pton(AF_INET, host, &addr.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr)) return 1;
    char request[512], id[128], header[256];
    for (;;) {
        int n = snprintf(request, sizeof request,
                         "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n", api);
        if (send(fd, request, (size_t)n, 0) != n) return 1;
        char *body; size_t body_len;
        if (read_response(fd, id, &body, &body_len)) return 1;
        n = snprintf(header, sizeof header,
                     "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: %s\r\n"
                     "Content-Length: %zu\r\n\r\n", id, api, body_len);
        if (send(fd, header, (size_t)n, MSG_MORE) != n || send(fd, body, body_len, 0) != (ssize_t)body_len) return 1;
        if (read_response(fd, id, &body, &body_len)) return 1;
    }
}
