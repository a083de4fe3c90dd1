package graph

import (
	"errors"
	"fmt"
)

// ShapeError reports a graph that cannot be built: shapes that do not fit an
// op, mixed element types, a bad axis. Graph-building functions panic with a
// *ShapeError so that model code reads like the maths; Recover turns the
// panic back into an error at the boundary of a build.
type ShapeError struct{ Msg string }

func (e *ShapeError) Error() string { return e.Msg }

func shapeErrorf(format string, args ...any) *ShapeError {
	return &ShapeError{Msg: fmt.Sprintf(format, args...)}
}

// Recover converts a *ShapeError panic into an error stored in *err. Use it
// deferred in any function that builds a graph:
//
//	func build(...) (loss *G.Node, err error) {
//		defer graph.Recover(&err)
//		...
//	}
//
// Other panics are re-raised.
func Recover(err *error) {
	if r := recover(); r != nil {
		var se *ShapeError
		if e, ok := r.(error); ok && errors.As(e, &se) {
			*err = se
			return
		}
		panic(r)
	}
}

// Build calls f and returns a *ShapeError it panics with as an error.
func Build(f func()) (err error) {
	defer Recover(&err)
	f()
	return nil
}
