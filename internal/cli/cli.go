// Package cli is what metagon's command-line tools share: the main
// function (interrupts, logging, one-line errors and exit codes) and flag
// parsing that reports usage errors the same way.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/sirupsen/logrus"
)

// ErrUsage marks a command line that could not be parsed; Main exits 2 on
// it (the flag package has already printed the usage).
var ErrUsage = errors.New("usage")

// RunFunc is a whole command: it parses args and does the work, writing
// results to stdout and progress to stderr. ctx is cancelled on an
// interrupt, so long loops can stop between steps and save their state.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer, log *logrus.Logger) error

// Main runs a command and exits: 0 on success, 2 on a usage error, and 1
// with one line "name: error" on stderr for anything else.
func Main(name string, run RunFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	log := logrus.New()
	log.SetOutput(os.Stderr)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, log)
	stop()
	if err != nil {
		if errors.Is(err, ErrUsage) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Parse parses args with fs, which only takes flags: -h and bad flags
// return errors wrapping ErrUsage, and a stray argument an error naming it.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return ErrUsage
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))
	}
	return nil
}
