/*
 * Prints the table of the x86 RSQRTSS reciprocal square root estimate that
 * ops_rsqrt.go embeds (TestRsqrtTableMatchesCPU compiles and runs this).
 *
 * For x in [1, 4) the estimate depends only on the exponent parity and the
 * top 10 mantissa bits of x, lies in [0.5, 1), and only the top 12 bits of
 * its mantissa vary. Output: the 12-bit mantissa of the first entry
 * (x = 1.0), then for each of the 2047 following entries one digit: how much
 * that mantissa drops from the previous entry.
 *
 *   gcc -O1 -o rsqrt_table rsqrt_table.c && ./rsqrt_table
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <xmmintrin.h>

static float estimate(float x) { return _mm_cvtss_f32(_mm_rsqrt_ss(_mm_set_ss(x))); }

int main(void) {
    int prev = -1;
    for (uint32_t i = 0; i < 2048; i++) {
        uint32_t u = ((127u + (i >> 10)) << 23) | ((i & 1023u) << 13);
        float x, r;
        uint32_t ru;
        memcpy(&x, &u, 4);
        r = estimate(x);
        memcpy(&ru, &r, 4);
        int m = (int)((ru & 0x7fffffu) >> 11);
        if (prev < 0)
            printf("%d\n", m);
        else
            putchar('0' + prev - m);
        prev = m;
    }
    putchar('\n');
    return 0;
}
