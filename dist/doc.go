// Package dist runs metagon's meta-training as several processes over MPI:
// data-parallel meta-training whose result is bit for bit that of one
// process (metalearn.Comm says how the learners split a meta-batch).
//
// A Comm is this process's place in the job: its rank, the number of
// processes, and the few collective operations the learners need (gather
// to all, broadcast, send and receive, barrier) on float64 and float32
// buffers. Init starts it and Finalize ends it; Abort brings the whole
// job down. *Comm implements metalearn.Comm:
//
//	comm, err := dist.Init()
//	if err != nil { ... }
//	defer comm.Finalize()
//	l, src, err := metalearn.Setup(metalearn.Run{..., Comm: comm})
//
// Built with the tag mpi (go build -tags mpi), Comm binds Open MPI's C
// library through cgo (pkg-config ompi-c; Debian: apt-get install
// libopenmpi-dev openmpi-bin) and a program runs under mpirun, srun or an
// MPIJob's launcher. Without the tag it is a stand-in of one process, rank
// 0 of 1, in pure Go, so the default build needs neither MPI nor cgo; its
// Init refuses to run under an MPI launcher of more than one process
// (OMPI_COMM_WORLD_SIZE or PMI_SIZE above 1), where every copy would
// write the same outputs.
//
// MPI errors are returned as Go errors (MPI_ERRORS_RETURN). Go runs a
// goroutine's C calls on whichever OS thread it is on, so Init asks for
// MPI_THREAD_MULTIPLE and accepts MPI_THREAD_SERIALIZED; a Comm makes one
// call at a time (a mutex), the watchdog's abort alone running beside
// another. Comm.Busy is the time spent in MPI calls. Comm.Timeout bounds how long a call
// waits for the other processes: past it the process says which call on
// which rank waited and aborts the job, so that a process that died or
// hangs does not leave the others waiting for ever.
package dist
