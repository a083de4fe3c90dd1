//go:build mpi

package dist_test

import (
	"fmt"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metagon/metagon/dist"
	"github.com/metagon/metagon/metalearn"
)

// The tests named TestRanks… run inside mpirun: TestMPI starts this test
// binary under `mpirun -np 2` with -test.run ^TestRanks, and each rank
// runs them with the world's Comm. Outside mpirun they skip.

// world is the job's Comm inside mpirun, nil outside.
var world *dist.Comm

func TestMain(m *testing.M) {
	if os.Getenv("OMPI_COMM_WORLD_SIZE") == "" {
		os.Exit(m.Run())
	}
	c, err := dist.Init()
	if err != nil {
		fmt.Fprintln(os.Stderr, "dist.Init:", err)
		os.Exit(1)
	}
	c.Timeout = 5 * time.Minute
	world = c
	code := m.Run()
	if err := c.Finalize(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// TestMPI runs the TestRanks… tests as 2 processes under mpirun
// (--oversubscribe: the machine may have fewer cores; --allow-run-as-root:
// CI containers run as root). Without mpirun it skips, except under
// CI=true.
func TestMPI(t *testing.T) {
	if world != nil {
		t.Skip("inside mpirun")
	}
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("mpirun not found (apt-get install openmpi-bin libopenmpi-dev)")
		}
		t.Skip("mpirun not found (apt-get install openmpi-bin libopenmpi-dev)")
	}
	args := []string{"-np", "2", "--oversubscribe", "--allow-run-as-root", os.Args[0], "-test.run", "^TestRanks", "-test.count", "1"}
	if testing.Verbose() {
		args = append(args, "-test.v")
	}
	start := time.Now()
	out, err := exec.Command(mpirun, args...).CombinedOutput()
	t.Logf("mpirun -np 2 (%.1fs):\n%s", time.Since(start).Seconds(), out)
	if err != nil {
		t.Fatalf("mpirun: %v", err)
	}
	if n := strings.Count(string(out), "PASS"); n < 2 {
		t.Fatalf("%d ranks passed, want 2", n)
	}
}

func inMPI(t *testing.T) *dist.Comm {
	t.Helper()
	if world == nil {
		t.Skip("runs under mpirun (TestMPI)")
	}
	if world.Size() < 2 {
		t.Skip("needs 2 processes")
	}
	return world
}

// TestRanksCollectives: Allgather (uneven counts, float64 and float32),
// Bcast, Send and Recv, Barrier and an MPI error returned as an error.
func TestRanksCollectives(t *testing.T) {
	c := inMPI(t)
	r, n := c.Rank(), c.Size()
	counts := make([]int, n)
	var want []float64
	for k := range counts {
		counts[k] = k + 1
		for j := range k + 1 {
			want = append(want, float64(100*k+j))
		}
	}
	send := want[r*(r+1)/2 : r*(r+1)/2+r+1]
	recv := make([]float64, len(want))
	if err := c.Allgather(send, recv, counts); err != nil || !slices.Equal(recv, want) {
		t.Fatalf("Allgather: %v, %v; want %v", recv, err, want)
	}
	send32, recv32 := make([]float32, r+1), make([]float32, len(want))
	for j := range send32 {
		send32[j] = float32(send[j])
	}
	if err := c.Allgather32(send32, recv32, counts); err != nil || recv32[len(want)-1] != float32(want[len(want)-1]) {
		t.Fatalf("Allgather32: %v, %v", recv32, err)
	}
	buf := []float64{float64(r), math.Pi}
	if err := c.Bcast(buf, n-1); err != nil || buf[0] != float64(n-1) {
		t.Fatalf("Bcast: %v, %v", buf, err)
	}
	buf32 := []float32{float32(r)}
	if err := c.Bcast32(buf32, 1); err != nil || buf32[0] != 1 {
		t.Fatalf("Bcast32: %v, %v", buf32, err)
	}
	// a ring: each rank sends its rank to the next
	msg := []float64{float64(r), math.Copysign(0, -1)}
	if r%2 == 0 {
		if err := c.Send(msg, (r+1)%n); err != nil {
			t.Fatal(err)
		}
		if err := c.Recv(msg, (r+n-1)%n); err != nil {
			t.Fatal(err)
		}
	} else {
		got := make([]float64, 2)
		if err := c.Recv(got, (r+n-1)%n); err != nil {
			t.Fatal(err)
		}
		if err := c.Send(msg, (r+1)%n); err != nil {
			t.Fatal(err)
		}
		msg = got
	}
	if msg[0] != float64((r+n-1)%n) || !math.Signbit(msg[1]) {
		t.Fatalf("rank %d received %v", r, msg)
	}
	// a message longer than the buffer: MPI_ERR_TRUNCATE, as an error
	if r == 0 {
		err := c.Send(make([]float64, 3), 1)
		if err != nil {
			t.Fatal(err)
		}
	} else if r == 1 {
		err := c.Recv(make([]float64, 2), 0)
		if err == nil || !strings.Contains(err.Error(), "MPI_Recv") {
			t.Fatalf("truncated receive: %v", err)
		}
		t.Logf("truncated receive: %v", err)
	}
	if err := c.Barrier(); err != nil {
		t.Fatal(err)
	}
}

// TestRanksMAMLSinusoid: 20 meta-iterations of second-order MAML on
// sinusoids (meta-batch 25, as Finn et al.) split across the ranks end
// with the meta-parameters and Adam state of one process, bit for bit, on
// every rank.
func TestRanksMAMLSinusoid(t *testing.T) {
	c := inMPI(t)
	const iterations = 20
	train := func(comm metalearn.Comm) ([]float64, []metalearn.Stats) {
		le, _ := metalearn.LookupLearner("maml")
		se, _ := metalearn.LookupSource("sinusoid")
		s := metalearn.Resolve(metalearn.Settings{Iterations: iterations}, le, se, "sinusoid")
		l, src, err := metalearn.Setup(metalearn.Run{Learner: "maml", Source: "sinusoid", Settings: s, Seed: 1, Comm: comm})
		if err != nil {
			t.Fatal(err)
		}
		var stats []metalearn.Stats
		for it := range iterations {
			st, err := l.MetaStep(src.Train(it, s.MetaBatch))
			if err != nil {
				t.Fatal(err)
			}
			stats = append(stats, st)
		}
		var all []float64
		for _, v := range l.Params().Values() {
			all = append(all, v.Float64s()...)
		}
		for _, slot := range l.Optimizer().State().Slots {
			for _, p := range slot {
				all = append(all, p...)
			}
		}
		return all, stats
	}
	start := time.Now()
	split, splitStats := train(c)
	took := time.Since(start)
	one, oneStats := train(nil)
	if !slices.Equal(split, one) || !slices.Equal(splitStats, oneStats) {
		diff := 0
		for i := range one {
			if split[i] != one[i] {
				diff++
			}
		}
		t.Fatalf("rank %d: %d of %d values differ from one process's", c.Rank(), diff, len(one))
	}
	// and every rank holds the same values
	all := make([]float64, len(one)*c.Size())
	counts := make([]int, c.Size())
	for r := range counts {
		counts[r] = len(one)
	}
	if err := c.Allgather(split, all, counts); err != nil {
		t.Fatal(err)
	}
	for r := range c.Size() {
		if !slices.Equal(all[r*len(one):(r+1)*len(one)], one) {
			t.Fatalf("rank %d's values differ from rank %d's", r, c.Rank())
		}
	}
	t.Logf("rank %d: %d meta-parameters and Adam moments bit-identical to one process after %d iterations (%.2fs split, meta-loss %.4f)",
		c.Rank(), len(one), iterations, took.Seconds(), splitStats[iterations-1].Loss)
}

// TestRanksGoPanics: under MPI a nil dereference is still a Go panic that
// recover catches: Init keeps Open MPI's SIGSEGV handler out.
func TestRanksGoPanics(t *testing.T) {
	inMPI(t)
	var p *[4]float64
	recovered := func() (r any) {
		defer func() { r = recover() }()
		return p[1]
	}()
	if recovered == nil {
		t.Fatal("no panic")
	}
}

// TestMPIWatchdog: a rank that waits past Comm.Timeout for another
// (rank 1 never reaches the barrier) aborts the job with a message naming
// the rank and the call.
func TestMPIWatchdog(t *testing.T) {
	if world != nil {
		if os.Getenv("DIST_TEST_WATCHDOG") == "" {
			t.Skip("run by TestMPIWatchdog under mpirun")
		}
		world.Timeout = time.Second
		if world.Rank() == 0 {
			world.Barrier()
		} else {
			time.Sleep(time.Minute)
		}
		t.Fatal("the watchdog did not abort")
	}
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		t.Skip("mpirun not found")
	}
	cmd := exec.Command(mpirun, "-np", "2", "--oversubscribe", "--allow-run-as-root", os.Args[0], "-test.run", "^TestMPIWatchdog$")
	cmd.Env = append(os.Environ(), "DIST_TEST_WATCHDOG=1")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "rank 0 of 2: MPI_Barrier waited 1s for the other processes; aborting the job") {
		t.Fatalf("mpirun: %v\n%s", err, out)
	}
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the job took %v to end", took)
	}
}
