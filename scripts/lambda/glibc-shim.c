/* Link-time shim for Lambda's provided.al2023 (glibc 2.34).
 *
 * glibc 2.35 added new versions of hypotf and hypot. Debian 12's glibc is 2.36, so a binary linked here against
 * libswiftGlibc.a (which references hypotf; any use of errno pulls it in) or full Foundation (hypot) needs
 * hypotf@GLIBC_2.35, and the loader on Lambda refuses it ("version `GLIBC_2.35' not found").
 * Linked with `--wrap=hypotf --wrap=hypot`, every reference goes to the functions below instead, which only use
 * symbols that exist since GLIBC_2.2.5. (A `.symver hypotf@GLIBC_2.2.5` alias loops forever at run time:
 * ../shared/docs/lambda-runtime.md section 4.) Results are correctly rounded for float; for double the long double
 * intermediate keeps it within an ulp and free of overflow. scripts/package.sh links this into every function.
 */
#include <math.h>

float __wrap_hypotf(float x, float y) {
    if (isinf(x) || isinf(y)) return INFINITY; /* IEEE 754: hypot(+-inf, NaN) is +inf */
    if (isnan(x) || isnan(y)) return NAN;
    double a = x, b = y; /* float squares cannot overflow or lose bits in double */
    return (float)sqrt(a * a + b * b);
}

double __wrap_hypot(double x, double y) {
    if (isinf(x) || isinf(y)) return INFINITY;
    if (isnan(x) || isnan(y)) return NAN;
    long double a = x, b = y;
    return (double)sqrtl(a * a + b * b);
}
