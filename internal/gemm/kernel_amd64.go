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

// dkernel6x16 is the float64 microKernel with a 6×16 register tile
// (kernel_avx512_amd64.s). It needs AVX-512F.
//
//go:noescape
func dkernel6x16(k int, a, b []float64, ldb int, c []float64, ldc int, alpha, beta float64)

// skernel6x32 is the float32 microKernel with a 6×32 register tile
// (kernel_avx512_amd64.s). It needs AVX-512F.
//
//go:noescape
func skernel6x32(k int, a, b []float32, ldb int, c []float32, ldc int, alpha, beta float32)

// The assembly kernel sets.
var (
	avx512Kernels = kernelSet{
		name: "avx512",
		f64:  kernel[float64]{mr: 6, nr: 16, fn: dkernel6x16},
		f32:  kernel[float32]{mr: 6, nr: 32, fn: skernel6x32},
	}
	avx2Kernels = kernelSet{
		name: "avx2",
		f64:  kernel[float64]{mr: 6, nr: 8, fn: dkernel6x8},
		f32:  kernel[float32]{mr: 6, nr: 16, fn: skernel6x16},
	}
)

// availableKernels returns the kernel sets this CPU and OS support, best
// first. x/sys/cpu reports AVX-512F (and AVX2) only when the OS saves the
// zmm (ymm) registers.
func availableKernels() []kernelSet {
	var ks []kernelSet
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512Kernels)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2Kernels)
	}
	return append(ks, genericKernels)
}
