//go:build !unix

package main

import "time"

var start = time.Now()

// cpuSeconds stands in for the process's CPU time where getrusage is
// missing: the wall-clock seconds since the program started.
func cpuSeconds() float64 { return time.Since(start).Seconds() }
