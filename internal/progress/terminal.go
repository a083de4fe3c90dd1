package progress

import (
	"io"
	"os"
	"sync"
)

// Terminal is a writer shared by a progress bar and log lines, e.g.
// stderr. On a terminal a bar redraws its line in place with "\r"; a log
// line written there would land on the end of the bar
// ("…eta 3sINFO[0000] validation"). Terminal clears the bar's line before
// every other write and draws it again below, so log lines scroll above
// the bar. It is safe for concurrent use.
type Terminal struct {
	mu     sync.Mutex
	out    io.Writer
	tty    bool
	line   string // the bar's current line, "" when no bar is active
	onLine bool   // the bar's line is on screen, without a newline
}

// NewTerminal wraps out; bars on it redraw in place when out is a
// character device (a terminal).
func NewTerminal(out io.Writer) *Terminal {
	return &Terminal{out: out, tty: isTTY(out)}
}

// IsTerminal reports whether the output is a terminal, where bars redraw
// in place (and loggers may use colours).
func (t *Terminal) IsTerminal() bool { return t.tty }

// Write writes p (a log line): it clears a bar's line first and draws it
// again after p when p ends a line.
func (t *Terminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.clearLine()
	n, err := t.out.Write(p)
	if t.line != "" && len(p) > 0 && p[len(p)-1] == '\n' {
		t.draw()
	}
	return n, err
}

// drawLine makes s the bar's line and shows it in place of the current
// line, leaving the cursor on it.
func (t *Terminal) drawLine(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.line = s
	t.draw()
}

// endLine ends the bar: its last line stays on screen, followed by a
// newline.
func (t *Terminal) endLine() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.line != "" && !t.onLine {
		t.draw()
	}
	if t.onLine {
		io.WriteString(t.out, "\n")
	}
	t.line, t.onLine = "", false
}

// draw shows the bar's line; the caller holds t.mu.
func (t *Terminal) draw() {
	io.WriteString(t.out, "\r"+t.line+"\x1b[K")
	t.onLine = true
}

// clearLine erases a bar's line; the caller holds t.mu.
func (t *Terminal) clearLine() {
	if t.onLine {
		io.WriteString(t.out, "\r\x1b[K")
		t.onLine = false
	}
}

// isTTY reports whether w is a terminal.
func isTTY(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
