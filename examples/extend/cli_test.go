package extend_test

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/metagon/metagon/command/meta"
	"github.com/sirupsen/logrus"
)

// TestMetaCommand runs the example's learner and source through the meta
// command itself, as examples/extend/meta does: flags, defaults, training,
// the evaluation table and the report.
func TestMetaCommand(t *testing.T) {
	log := logrus.New()
	log.SetOutput(io.Discard)
	var out bytes.Buffer
	args := []string{"-algorithm", "pretrain", "-dataset", "lines", "-iterations", "50", "-eval-tasks", "20", "-out", t.TempDir()}
	if err := meta.Run(context.Background(), args, &out, io.Discard, log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "pretrain/mlp-1-20-20-1-relu, 5-shot lines, 20 held-out tasks") || !strings.Contains(out.String(), "| 10 |") {
		t.Errorf("output:\n%s", out.String())
	}
}
