// Package commtest stands goroutines in for processes in tests of
// metalearn.Comm's users: Group(n) returns n ranks that exchange values
// through channels, as MPI processes would (package dist).
package commtest

import (
	"fmt"
	"slices"
)

// Comm is one rank of a group of goroutines standing in for processes
// (it implements metalearn.Comm): every ordered pair of ranks has a FIFO
// mailbox, and every rank makes the same calls in the same order, so each
// message is received by the call it was sent for.
type Comm struct {
	rank int
	box  [][]chan []float64 // box[from][to]
}

// Group returns the ranks of a group of n.
func Group(n int) []*Comm {
	box := make([][]chan []float64, n)
	for i := range box {
		box[i] = make([]chan []float64, n)
		for j := range box[i] {
			box[i][j] = make(chan []float64, 64)
		}
	}
	g := make([]*Comm, n)
	for r := range g {
		g[r] = &Comm{rank: r, box: box}
	}
	return g
}

func (c *Comm) Rank() int { return c.rank }
func (c *Comm) Size() int { return len(c.box) }

func (c *Comm) Send(buf []float64, to int) error {
	c.box[c.rank][to] <- slices.Clone(buf)
	return nil
}

func (c *Comm) Recv(buf []float64, from int) error {
	m := <-c.box[from][c.rank]
	if len(m) != len(buf) {
		return fmt.Errorf("rank %d: %d values from rank %d, want %d", c.rank, len(m), from, len(buf))
	}
	copy(buf, m)
	return nil
}

func (c *Comm) Allgather(send, recv []float64, counts []int) error {
	if len(send) != counts[c.rank] {
		return fmt.Errorf("rank %d sends %d values, counts say %d", c.rank, len(send), counts[c.rank])
	}
	for r := range c.box {
		if r != c.rank {
			_ = c.Send(send, r)
		}
	}
	off := 0
	for r, n := range counts {
		if r == c.rank {
			copy(recv[off:off+n], send)
		} else if err := c.Recv(recv[off:off+n], r); err != nil {
			return err
		}
		off += n
	}
	return nil
}

func (c *Comm) Bcast(buf []float64, root int) error {
	if c.rank != root {
		return c.Recv(buf, root)
	}
	for r := range c.box {
		if r != root {
			_ = c.Send(buf, r)
		}
	}
	return nil
}
