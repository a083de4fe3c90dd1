//go:build !amd64

package gemm

// selectKernels keeps the pure-Go microkernels: there is no assembly
// kernel for this architecture.
func selectKernels() {
	kernel64 = kernel[float64]{mr: 6, nr: 8, fn: dkernelGo}
	kernel32 = kernel[float32]{mr: 6, nr: 16, fn: skernelGo}
}
