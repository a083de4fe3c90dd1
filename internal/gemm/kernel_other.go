//go:build !amd64

package gemm

// availableKernels returns the pure-Go microkernels: there is no assembly
// kernel for this architecture.
func availableKernels() []kernelSet { return []kernelSet{genericKernels} }
