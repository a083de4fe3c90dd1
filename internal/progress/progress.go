// Package progress draws a one-line progress bar for long loops in the
// command-line tools: on a terminal it redraws in place at most ten times a
// second; elsewhere (logs, CI) it prints a plain line every tenth of the
// work. Log lines written through the same Terminal clear the bar first.
package progress

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Bar reports the progress of Total units of work.
type Bar struct {
	Label string
	Total int
	Out   io.Writer

	start    time.Time
	first    int // done at the first Update, less one: a resumed loop's rate counts its own work only
	last     time.Time
	lastTick int
	term     *Terminal // set when the bar redraws in place
}

// New returns a bar writing to out: a *Terminal (as cli.Main passes to
// commands) or any writer. On a terminal the bar redraws in place; log
// lines must then go through the same Terminal, which clears the bar's line
// before each. An *os.File that is a terminal gets a Terminal of its own.
func New(out io.Writer, label string, total int) *Bar {
	b := &Bar{Label: label, Total: total, Out: out, start: time.Now(), lastTick: -1, first: -1}
	switch t := out.(type) {
	case *Terminal:
		if t.tty {
			b.term = t
		}
	default:
		if isTTY(out) {
			b.term = NewTerminal(out)
		}
	}
	return b
}

// Update reports that done units are finished; extra is appended to the
// line (e.g. "loss 0.231").
func (b *Bar) Update(done int, extra string) {
	now := time.Now()
	if b.first < 0 {
		b.first = max(done-1, 0)
	}
	elapsed := now.Sub(b.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done-b.first) / elapsed
	}
	if b.term != nil {
		if now.Sub(b.last) < 100*time.Millisecond && done < b.Total {
			return
		}
		b.last = now
		const width = 24
		filled := 0
		if b.Total > 0 {
			filled = width * done / b.Total
		}
		bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
		b.term.drawLine(fmt.Sprintf("%s [%s] %d/%d %s %s %s", b.Label, bar, done, b.Total, extra, perSecond(rate), eta(done, b.Total, rate)))
		return
	}
	tick := 0
	if b.Total > 0 {
		tick = 10 * done / b.Total
	}
	if tick != b.lastTick {
		b.lastTick = tick
		fmt.Fprintf(b.Out, "%s %d/%d %s %s %s\n", b.Label, done, b.Total, extra, perSecond(rate), eta(done, b.Total, rate))
	}
}

// Done ends the bar's line.
func (b *Bar) Done() {
	if b.term != nil {
		b.term.endLine()
	}
}

func eta(done, total int, rate float64) string {
	if rate <= 0 || done >= total {
		return ""
	}
	left := time.Duration(float64(total-done) / rate * float64(time.Second))
	return "eta " + left.Round(time.Second).String()
}

// perSecond formats a rate, with decimals when it is small.
func perSecond(rate float64) string {
	if rate < 10 {
		return fmt.Sprintf("%.2f/s", rate)
	}
	return fmt.Sprintf("%.0f/s", rate)
}
