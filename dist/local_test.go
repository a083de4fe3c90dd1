//go:build !mpi

package dist

import (
	"slices"
	"strings"
	"testing"
)

// TestStandIn: without MPI, Init gives rank 0 of 1, whose collectives
// copy (Allgather) or leave alone (Bcast), and which has no peer.
func TestStandIn(t *testing.T) {
	c, err := Init()
	if err != nil {
		t.Fatal(err)
	}
	if c.Rank() != 0 || c.Size() != 1 || Enabled || c.String() != "rank 0 of 1" {
		t.Fatalf("stand-in: %v, Enabled %v", c, Enabled)
	}
	send, recv := []float64{1, 2, 3}, make([]float64, 4)
	if err := c.Allgather(send, recv, []int{3}); err != nil || !slices.Equal(recv, []float64{1, 2, 3, 0}) {
		t.Errorf("Allgather: %v, %v", recv, err)
	}
	recv32 := make([]float32, 2)
	if err := c.Allgather32([]float32{4, 5}, recv32, []int{2}); err != nil || !slices.Equal(recv32, []float32{4, 5}) {
		t.Errorf("Allgather32: %v, %v", recv32, err)
	}
	for _, bad := range []struct {
		send, recv int
		counts     []int
		want       string
	}{
		{3, 3, []int{3, 1}, "2 counts for 1 processes"},
		{3, 3, []int{2}, "sends 3 values, counts[0] = 2"},
		{3, 2, []int{3}, "recv holds 2 values"},
	} {
		err := c.Allgather(make([]float64, bad.send), make([]float64, bad.recv), bad.counts)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Allgather(%d, %d, %v): %v, want %q", bad.send, bad.recv, bad.counts, err, bad.want)
		}
	}
	buf := []float64{7}
	if err := c.Bcast(buf, 0); err != nil || buf[0] != 7 {
		t.Errorf("Bcast: %v, %v", buf, err)
	}
	if err := c.Bcast(buf, 1); err == nil || !strings.Contains(err.Error(), "no rank 1") {
		t.Errorf("Bcast from rank 1: %v", err)
	}
	if err := c.Send(buf, 0); err == nil {
		t.Error("Send to itself succeeded")
	}
	if err := c.Recv(buf, 0); err == nil {
		t.Error("Recv from itself succeeded")
	}
	if err := c.Barrier(); err != nil {
		t.Error(err)
	}
	if err := c.Finalize(); err != nil {
		t.Error(err)
	}
}

// TestStandInRefusesMPILaunch: a binary built without MPI refuses to be
// one of several processes an MPI launcher started.
func TestStandInRefusesMPILaunch(t *testing.T) {
	for _, v := range []string{"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"} {
		t.Run(v, func(t *testing.T) {
			t.Setenv(v, "2")
			if _, err := Init(); err == nil || !strings.Contains(err.Error(), "-tags mpi") {
				t.Errorf("%s=2: %v", v, err)
			}
		})
	}
	t.Setenv("OMPI_COMM_WORLD_SIZE", "1")
	if _, err := Init(); err != nil {
		t.Errorf("one process under mpirun: %v", err)
	}
}
