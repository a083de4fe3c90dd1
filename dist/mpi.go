//go:build mpi

package dist

/*
#cgo pkg-config: ompi-c
#include <stdlib.h>
#include <mpi.h>

// MPI_COMM_WORLD and the datatypes are macros over Open MPI's globals,
// which cgo cannot name: small wrappers do.
static int d_init(int required, int *provided) {
	int rc = MPI_Init_thread(NULL, NULL, required, provided);
	if (rc != MPI_SUCCESS) return rc;
	return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}
static int d_rank(int *r) { return MPI_Comm_rank(MPI_COMM_WORLD, r); }
static int d_size(int *n) { return MPI_Comm_size(MPI_COMM_WORLD, n); }
static int d_thread_multiple(void) { return MPI_THREAD_MULTIPLE; }
static int d_thread_serialized(void) { return MPI_THREAD_SERIALIZED; }
static int d_allgatherv(const void *send, int n, void *recv, const int *counts, const int *displs, int f32) {
	MPI_Datatype t = f32 ? MPI_FLOAT : MPI_DOUBLE;
	return MPI_Allgatherv(send, n, t, recv, counts, displs, t, MPI_COMM_WORLD);
}
static int d_bcast(void *buf, int n, int root, int f32) {
	return MPI_Bcast(buf, n, f32 ? MPI_FLOAT : MPI_DOUBLE, root, MPI_COMM_WORLD);
}
static int d_send(const double *buf, int n, int to) {
	return MPI_Send(buf, n, MPI_DOUBLE, to, 0, MPI_COMM_WORLD);
}
static int d_recv(double *buf, int n, int from, int *got) {
	MPI_Status st;
	int rc = MPI_Recv(buf, n, MPI_DOUBLE, from, 0, MPI_COMM_WORLD, &st);
	if (rc == MPI_SUCCESS) rc = MPI_Get_count(&st, MPI_DOUBLE, got);
	return rc;
}
static int d_barrier(void) { return MPI_Barrier(MPI_COMM_WORLD); }
static int d_abort(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }
static int d_finalize(void) { return MPI_Finalize(); }
static int d_error_string(int code, char *buf) {
	int n = 0;
	if (MPI_Error_string(code, buf, &n) != MPI_SUCCESS) n = 0;
	buf[n] = 0;
	return n;
}
static int d_max_error_string(void) { return MPI_MAX_ERROR_STRING; }
*/
import "C"

import (
	"fmt"
	"os"
	"sync"
	"time"
	"unsafe"
)

// Enabled reports whether this binary was built with MPI (-tags mpi).
const Enabled = true

var (
	initOnce sync.Once
	world    *Comm
	initErr  error
)

// Init starts MPI (MPI_Init_thread, asking for MPI_THREAD_MULTIPLE and
// taking MPI_THREAD_SERIALIZED) and returns this process's Comm; later
// calls return the same. MPI errors are returned, not fatal
// (MPI_ERRORS_RETURN).
//
// Unless the environment already says otherwise, Init asks Open MPI not to
// install its stack-trace handlers for SIGSEGV, SIGBUS, SIGFPE and SIGABRT
// (OMPI_MCA_opal_signal=""), a precaution: Go's runtime needs its own to
// turn a nil dereference into a panic (TestRanksGoPanics).
func Init() (*Comm, error) {
	initOnce.Do(func() { world, initErr = initMPI() })
	return world, initErr
}

func initMPI() (*Comm, error) {
	if _, set := os.LookupEnv("OMPI_MCA_opal_signal"); !set {
		os.Setenv("OMPI_MCA_opal_signal", "")
	}
	var provided C.int
	if rc := C.d_init(C.d_thread_multiple(), &provided); rc != C.MPI_SUCCESS {
		return nil, mpiError("MPI_Init_thread", rc)
	}
	if provided < C.d_thread_serialized() {
		C.d_finalize()
		return nil, fmt.Errorf("MPI_Init_thread: the MPI library gives thread level %d; dist needs MPI_THREAD_SERIALIZED, as Go calls C from any OS thread", int(provided))
	}
	var r, n C.int
	if rc := C.d_rank(&r); rc != C.MPI_SUCCESS {
		return nil, mpiError("MPI_Comm_rank", rc)
	}
	if rc := C.d_size(&n); rc != C.MPI_SUCCESS {
		return nil, mpiError("MPI_Comm_size", rc)
	}
	return &Comm{rank: int(r), size: int(n)}, nil
}

// mpiError turns an MPI return code into an error naming the call.
func mpiError(call string, rc C.int) error {
	buf := (*C.char)(C.malloc(C.size_t(C.d_max_error_string() + 1)))
	defer C.free(unsafe.Pointer(buf))
	n := C.d_error_string(rc, buf)
	return fmt.Errorf("%s: %s (MPI error %d)", call, C.GoStringN(buf, n), int(rc))
}

// call runs one MPI call under the mutex and the watchdog.
func (c *Comm) call(what string, f func() C.int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finalized {
		return fmt.Errorf("%s on %s: MPI is finalized", what, c)
	}
	stop := c.guard(what)
	start := time.Now()
	rc := f()
	c.busy.Add(int64(time.Since(start)))
	stop()
	if rc != C.MPI_SUCCESS {
		return fmt.Errorf("%s: %w", c, mpiError(what, rc))
	}
	return nil
}

// ptr is the address of s's first element, nil for an empty slice.
func ptr[T any](s []T) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Pointer(&s[0])
}

// gatherv runs MPI_Allgatherv on n-value send and recv.
func (c *Comm) gatherv(send, recv unsafe.Pointer, n int, counts []int, f32 C.int) error {
	cc, displs := make([]C.int, c.size), make([]C.int, c.size)
	off := 0
	for r, k := range counts {
		cc[r], displs[r] = C.int(k), C.int(off)
		off += k
	}
	return c.call("MPI_Allgatherv", func() C.int {
		return C.d_allgatherv(send, C.int(n), recv, &cc[0], &displs[0], f32)
	})
}

// Allgather writes every rank's send, in rank order, to recv: counts[r]
// is the length of rank r's send (counts[Rank()] = len(send)), and recv
// holds at least their sum.
func (c *Comm) Allgather(send, recv []float64, counts []int) error {
	if err := c.checkGather(len(send), len(recv), counts); err != nil {
		return err
	}
	return c.gatherv(ptr(send), ptr(recv), len(send), counts, 0)
}

// Allgather32 is Allgather on float32 values.
func (c *Comm) Allgather32(send, recv []float32, counts []int) error {
	if err := c.checkGather(len(send), len(recv), counts); err != nil {
		return err
	}
	return c.gatherv(ptr(send), ptr(recv), len(send), counts, 1)
}

// Bcast copies root's buf into every other rank's, which must have the
// same length.
func (c *Comm) Bcast(buf []float64, root int) error {
	if err := c.checkPeer("bcast", root, len(buf)); err != nil {
		return err
	}
	return c.call("MPI_Bcast", func() C.int { return C.d_bcast(ptr(buf), C.int(len(buf)), C.int(root), 0) })
}

// Bcast32 is Bcast on float32 values.
func (c *Comm) Bcast32(buf []float32, root int) error {
	if err := c.checkPeer("bcast", root, len(buf)); err != nil {
		return err
	}
	return c.call("MPI_Bcast", func() C.int { return C.d_bcast(ptr(buf), C.int(len(buf)), C.int(root), 1) })
}

// Send sends buf to rank to, which receives it with Recv (point to
// point: only the two ranks call).
func (c *Comm) Send(buf []float64, to int) error {
	if err := c.checkPeer("send", to, len(buf)); err != nil {
		return err
	}
	return c.call("MPI_Send", func() C.int { return C.d_send((*C.double)(ptr(buf)), C.int(len(buf)), C.int(to)) })
}

// Recv receives into buf what rank from sent with Send; the message must
// have len(buf) values.
func (c *Comm) Recv(buf []float64, from int) error {
	if err := c.checkPeer("recv", from, len(buf)); err != nil {
		return err
	}
	var got C.int
	err := c.call("MPI_Recv", func() C.int { return C.d_recv((*C.double)(ptr(buf)), C.int(len(buf)), C.int(from), &got) })
	if err == nil && int(got) != len(buf) {
		err = fmt.Errorf("recv on %s: %d values from rank %d, want %d", c, int(got), from, len(buf))
	}
	return err
}

// Barrier returns when every process has called it.
func (c *Comm) Barrier() error {
	return c.call("MPI_Barrier", func() C.int { return C.d_barrier() })
}

// Abort ends every process of the job (MPI_Abort) with exit status code;
// it does not return. Only this process need call it.
func (c *Comm) Abort(code int) { c.abort(code) }

// abort is Abort without the mutex: the watchdog calls it while another
// call holds it.
func (c *Comm) abort(code int) {
	os.Stdout.Sync()
	os.Stderr.Sync()
	C.d_abort(C.int(code))
	os.Exit(code)
}

// Finalize ends MPI (MPI_Finalize), once; nothing may be called after it
// but Finalize.
func (c *Comm) Finalize() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finalized {
		return nil
	}
	c.finalized = true
	if rc := C.d_finalize(); rc != C.MPI_SUCCESS {
		return mpiError("MPI_Finalize", rc)
	}
	return nil
}
