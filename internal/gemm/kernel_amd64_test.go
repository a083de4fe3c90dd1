package gemm

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// TestAvailableKernels checks the dispatch order by faking the CPU
// features: AVX-512 first where the CPU has it, AVX2 on an AVX2-only CPU
// (an AMD EPYC, say), the generic kernels always last.
func TestAvailableKernels(t *testing.T) {
	saved := cpu.X86
	defer func() { cpu.X86 = saved }()
	for _, tc := range []struct {
		avx512, avx2, fma bool
		want              []string
	}{
		{true, true, true, []string{"avx512", "avx2", "generic"}},
		{false, true, true, []string{"avx2", "generic"}},
		{false, true, false, []string{"generic"}},
		{false, false, false, []string{"generic"}},
	} {
		cpu.X86.HasAVX512F, cpu.X86.HasAVX2, cpu.X86.HasFMA = tc.avx512, tc.avx2, tc.fma
		var got []string
		for _, ks := range availableKernels() {
			got = append(got, ks.name)
		}
		if len(got) != len(tc.want) {
			t.Errorf("AVX-512F %v, AVX2 %v, FMA %v: kernels %v, want %v", tc.avx512, tc.avx2, tc.fma, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("AVX-512F %v, AVX2 %v, FMA %v: kernels %v, want %v", tc.avx512, tc.avx2, tc.fma, got, tc.want)
				break
			}
		}
	}
}
