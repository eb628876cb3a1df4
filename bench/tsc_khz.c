// SPDX-License-Identifier: GPL-2.0
/*
 * Print the host's TSC rate in kHz (rdtsc against CLOCK_MONOTONIC, the
 * median of five 0.2 s samples). make bench hands it to the guest as
 * tsc_early_khz=: under TCG the guest's rdtsc reads the host's TSC, but
 * the guest cannot calibrate it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

static double mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	double khz[5];

	for (int i = 0; i < 5; i++) {
		double t0 = mono(), t1;
		unsigned long long c0 = __rdtsc(), c1;

		while ((t1 = mono()) - t0 < 0.2)
			;
		c1 = __rdtsc();
		khz[i] = (c1 - c0) / (t1 - t0) / 1e3;
	}
	qsort(khz, 5, sizeof(double), cmp);
	printf("%.0f\n", khz[2]);
	return 0;
}
