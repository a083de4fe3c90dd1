// Command faqplot draws the figures of docs/FAQ.md's MNIST answers from
// the runs of scripts/faq_mnist.sh and prints their tables (Markdown) on
// stdout. It reads, under -runs:
//
//	lr/findlr-{adam,sgd}/lr_finder.json   the range tests (cmd/train -find-lr)
//	lr/*/metrics.json                     Adam and SGD at five rates
//	optim/*/metrics.json                  momentum and AdamW at three rates
//	overfit/*/metrics.json                1,000 images, with and without regularisation
//
// and writes, into -out, replacing them: faq_lr_finder.png (the Adam range
// test's own plot, copied), faq_lr_sweep.png (test accuracy against the
// rate), faq_optimizers.png and faq_optimizers_loss.png (test accuracy
// and training loss per epoch, each optimizer at its best rate) and
// faq_overfitting.png (training and test accuracy per epoch, without
// regularisation and with the best). A section whose runs are missing is
// skipped, with a line on stderr.
//
//	go run ./internal/cmd/faqplot -runs runs/faq -out docs
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/metagon/metagon/internal/cli"
	"github.com/sirupsen/logrus"
)

func main() { cli.Main("faqplot", run) }

// section is one answer's figures and tables, from the runs under dir.
type section struct {
	name string
	draw func(runs, out string, stdout io.Writer) error
}

var sections = []section{
	{"lr", drawLR},
	{"optim", drawOptimizers},
	{"overfit", drawOverfitting},
}

func run(_ context.Context, args []string, stdout, stderr io.Writer, log *logrus.Logger) error {
	flags := flag.NewFlagSet("faqplot", flag.ContinueOnError)
	flags.SetOutput(stderr)
	runs := flags.String("runs", filepath.Join("runs", "faq"), "the runs of scripts/faq_mnist.sh")
	out := flags.String("out", "docs", "directory for the PNGs (existing ones are replaced)")
	if err := cli.Parse(flags, args); err != nil {
		return err
	}
	if flags.NArg() > 0 {
		return cli.Usagef("unexpected argument %q: faqplot takes only -runs and -out", flags.Arg(0))
	}
	if err := cli.CheckDir("out", *out); err != nil {
		return err
	}
	drawn := 0
	for _, s := range sections {
		dir := filepath.Join(*runs, s.name)
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			log.Warnf("no %s: section %q skipped", dir, s.name)
			continue
		}
		if err := s.draw(*runs, *out, stdout); err != nil {
			return fmt.Errorf("section %s: %w", s.name, err)
		}
		drawn++
	}
	if drawn == 0 {
		return fmt.Errorf("-runs %s holds none of the sections' folders (lr, optim, overfit): run scripts/faq_mnist.sh first", *runs)
	}
	return nil
}
