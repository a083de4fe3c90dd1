package metalearn

import (
	"fmt"

	"github.com/metagon/metagon/data"
)

// ClassBatcher is a TaskSource of labelled images that can also hand its
// training images as plain supervised mini-batches, each image labelled
// with its class among all the training classes rather than with an
// episode's 0 … N−1: what transfer learning pre-trains on (Transfer). The
// image sources (omniglot, cifar-fs, fc100, mini-imagenet) are
// ClassBatchers.
type ClassBatcher interface {
	TaskSource
	// TrainClasses is the number of training classes.
	TrainClasses() int
	// ClassBatch returns training batch it of n images as a Task whose
	// support set holds the images and their classes (0 …
	// TrainClasses()−1) and whose query set is empty. The batches come
	// from the training stream's seed (data.ClassBatches: every training
	// image once per epoch, each epoch shuffled), indexed by it, so a
	// resumed run sees the same batches as an uninterrupted one.
	ClassBatch(it, n int) Task
}

// ClassTrainer is a Learner that trains on a ClassBatcher's batches of
// images labelled with the training classes instead of on episodes: its
// MetaStep takes one supervised step on such a batch. TrainTasks hands it
// its batches.
type ClassTrainer interface {
	Learner
	// TrainClasses is the number of classes its training labels range
	// over (the width of its pre-training head).
	TrainClasses() int
}

// TrainTasks returns what l trains on at iteration it: n episodes of src
// (TaskSource.Train), or, for a ClassTrainer, src's class batch it of n
// images (ClassBatcher.ClassBatch) as one task. A ClassTrainer on a source
// that is not a ClassBatcher, or whose training classes it was not built
// for, is an error.
func TrainTasks(l Learner, src TaskSource, it, n int) ([]Task, error) {
	ct, ok := l.(ClassTrainer)
	if !ok {
		return src.Train(it, n), nil
	}
	cb, ok := src.(ClassBatcher)
	if !ok {
		return nil, fmt.Errorf("%s trains on batches of the training classes, which %s cannot draw", l.Name(), src.Describe())
	}
	if cb.TrainClasses() != ct.TrainClasses() {
		return nil, fmt.Errorf("%s was built for %d training classes; %s has %d", l.Name(), ct.TrainClasses(), src.Describe(), cb.TrainClasses())
	}
	return []Task{cb.ClassBatch(it, n)}, nil
}

// classBatch is batch it of n images of b as a Task (ClassBatcher): the
// image sources' ClassBatch.
func classBatch[C data.ImageClass](b *data.ClassBatches[C], it, n int) Task {
	x, labels := b.Batch(uint64(it), n)
	t := Task{SupportX: make([]float64, len(x)), SupportY: labels}
	for i, v := range x {
		t.SupportX[i] = float64(v)
	}
	return t
}
