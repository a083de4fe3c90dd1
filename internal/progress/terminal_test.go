package progress

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestLogClearsBar: on a terminal, a log line written while a bar is drawn
// starts on a cleared line, not glued onto the bar, and the bar's last
// state stays on screen when it is done.
func TestLogClearsBar(t *testing.T) {
	var buf bytes.Buffer
	term := &Terminal{out: &buf, tty: true}
	bar := New(term, "maml", 10)
	bar.Update(3, "loss 1")
	if _, err := term.Write([]byte("INFO validation\n")); err != nil {
		t.Fatal(err)
	}
	bar.Update(10, "loss 0.5")
	bar.Done()
	out := buf.String()
	i := strings.Index(out, "INFO")
	if i < 0 {
		t.Fatalf("no log line in %q", out)
	}
	if before := out[:i]; !strings.HasSuffix(before, "\r\x1b[K") {
		t.Errorf("log line not preceded by a cleared line: %q", out)
	}
	if !strings.HasPrefix(out[i:], "INFO validation\n\rmaml [") {
		t.Errorf("bar not drawn again below the log line: %q", out)
	}
	if !strings.Contains(out[i:], "10/10") || !strings.HasSuffix(out, "\n") {
		t.Errorf("bar not redrawn after the log line, or not ended: %q", out)
	}
	// A second write after Done must not clear anything.
	buf.Reset()
	term.Write([]byte("x\n"))
	if buf.String() != "x\n" {
		t.Errorf("write after Done: %q", buf.String())
	}
}

// TestPlainBar: off a terminal the bar prints whole lines, and log lines
// pass through unchanged.
func TestPlainBar(t *testing.T) {
	var buf bytes.Buffer
	term := NewTerminal(&buf)
	bar := New(term, "epoch", 10)
	for i := 1; i <= 10; i++ {
		bar.Update(i, "")
	}
	term.Write([]byte("log\n"))
	bar.Done()
	if strings.ContainsAny(buf.String(), "\r\x1b") {
		t.Errorf("control characters off a terminal: %q", buf.String())
	}
	if n := strings.Count(buf.String(), "\n"); n != 11 {
		t.Errorf("%d lines, want 10 ticks and the log line: %q", n, buf.String())
	}
}

// TestResumedRate: a loop resumed at 900 of 1000 reports the rate of its
// own work (1 unit in 50 ms), not 901 units in 50 ms.
func TestResumedRate(t *testing.T) {
	var buf bytes.Buffer
	bar := New(&buf, "x", 1000)
	time.Sleep(50 * time.Millisecond)
	bar.Update(901, "")
	var rate float64
	line := buf.String()
	if _, err := fmt.Sscanf(line[strings.Index(line, "901/1000 ")+len("901/1000 "):], "%f/s", &rate); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	if rate > 100 {
		t.Errorf("rate %g/s after resuming at 900: %q", rate, line)
	}
}
