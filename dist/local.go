//go:build !mpi

package dist

import (
	"fmt"
	"os"
)

// Enabled reports whether this binary was built with MPI (-tags mpi).
const Enabled = false

// Init returns the stand-in Comm of one process, rank 0 of 1. Under an MPI
// launcher of more than one process it refuses: this binary was built
// without -tags mpi, so every copy would run the whole job alone.
func Init() (*Comm, error) {
	if n := launchedSize(); n > 1 {
		return nil, fmt.Errorf("started as one of %d MPI processes, but built without MPI: build with -tags mpi (and libopenmpi-dev)", n)
	}
	return &Comm{rank: 0, size: 1}, nil
}

// Allgather copies send into recv (counts = [len(send)]).
func (c *Comm) Allgather(send, recv []float64, counts []int) error {
	if err := c.checkGather(len(send), len(recv), counts); err != nil {
		return err
	}
	copy(recv, send)
	return nil
}

// Allgather32 is Allgather on float32 values.
func (c *Comm) Allgather32(send, recv []float32, counts []int) error {
	if err := c.checkGather(len(send), len(recv), counts); err != nil {
		return err
	}
	copy(recv, send)
	return nil
}

// Bcast leaves buf as it is (root must be 0).
func (c *Comm) Bcast(buf []float64, root int) error { return c.checkPeer("bcast", root, len(buf)) }

// Bcast32 is Bcast on float32 values.
func (c *Comm) Bcast32(buf []float32, root int) error { return c.checkPeer("bcast", root, len(buf)) }

// Send fails: there is no other process.
func (c *Comm) Send(buf []float64, to int) error {
	return fmt.Errorf("send on %s: no other process", c)
}

// Recv fails: there is no other process.
func (c *Comm) Recv(buf []float64, from int) error {
	return fmt.Errorf("recv on %s: no other process", c)
}

// Barrier returns at once.
func (c *Comm) Barrier() error { return nil }

// Abort exits with status code.
func (c *Comm) Abort(code int) { c.abort(code) }

func (c *Comm) abort(code int) { os.Exit(code) }

// Finalize does nothing.
func (c *Comm) Finalize() error { return nil }
