package gemm

import "golang.org/x/sys/cpu"

// dkernel6x8 is the float64 microKernel with a 6×8 register tile
// (kernel_amd64.s). It needs AVX2 and FMA.
//
//go:noescape
func dkernel6x8(k int, a, b []float64, ldb int, c []float64, ldc int, alpha, beta float64)

// skernel6x16 is the float32 microKernel with a 6×16 register tile
// (kernel_amd64.s). It needs AVX2 and FMA.
//
//go:noescape
func skernel6x16(k int, a, b []float32, ldb int, c []float32, ldc int, alpha, beta float32)

// selectKernels picks the assembly microkernels when the CPU has AVX2 and
// FMA, and the pure-Go ones otherwise. Both use the same tile shapes, so
// packing is the same.
func selectKernels() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		kernel64 = kernel[float64]{mr: 6, nr: 8, fn: dkernel6x8}
		kernel32 = kernel[float32]{mr: 6, nr: 16, fn: skernel6x16}
		return
	}
	kernel64 = kernel[float64]{mr: 6, nr: 8, fn: dkernelGo}
	kernel32 = kernel[float32]{mr: 6, nr: 16, fn: skernelGo}
}
