// Command machine prints one line naming the machine a benchmark runs on:
// the CPU model, the number of CPUs Go uses and the GEMM microkernels
// internal/gemm chose (avx512, avx2 or generic; $METAGON_GEMM_KERNEL
// overrides). The benchmark scripts print it beside their figures, since
// a figure only means something with the machine and kernel it ran on.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/metagon/metagon/internal/gemm"
)

func main() {
	fmt.Printf("machine: %s, %d CPUs, %s/%s, gemm kernel %s\n", cpuModel(), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, gemm.Kernel())
}

// cpuModel reads the CPU's model name from /proc/cpuinfo, "unknown CPU"
// where there is none.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}
