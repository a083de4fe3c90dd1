package gemm

// The pure-Go microkernels: used on architectures without an assembly
// kernel, on amd64 CPUs without AVX2/FMA, and by the tests (useGeneric) to
// check that the kernels agree. They compute exactly what the microKernel
// type documents.

func dkernelGo(k int, a, b []float64, ldb int, c []float64, ldc int, alpha, beta float64) {
	microGo(6, 8, k, a, b, ldb, c, ldc, alpha, beta)
}

func skernelGo(k int, a, b []float32, ldb int, c []float32, ldc int, alpha, beta float32) {
	microGo(6, 16, k, a, b, ldb, c, ldc, alpha, beta)
}

// maxTile is the largest tile, mr·nr, that microGo computes.
const maxTile = 6 * 32

// microGo is the microkernel for an mr×nr tile (mr·nr ≤ maxTile).
func microGo[T float](mr, nr, k int, a, b []T, ldb int, c []T, ldc int, alpha, beta T) {
	var acc [maxTile]T
	for p := 0; p < k; p++ {
		ap := a[p*mr : p*mr+mr]
		bp := b[p*ldb : p*ldb+nr]
		for i, x := range ap {
			row := acc[i*nr : i*nr+nr]
			for j, y := range bp {
				row[j] += x * y
			}
		}
	}
	for i := 0; i < mr; i++ {
		ci := c[i*ldc : i*ldc+nr]
		row := acc[i*nr : i*nr+nr]
		for j := range ci {
			if beta == 0 {
				ci[j] = alpha * row[j]
			} else {
				ci[j] = alpha*row[j] + beta*ci[j]
			}
		}
	}
}
