package plots

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/metagon/metagon/data"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// checkPNG decodes the PNG at path and fails unless it has a positive size
// and more than one color.
func checkPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	b := img.Bounds()
	if b.Dx() <= 0 || b.Dy() <= 0 {
		t.Fatalf("%s: empty image %v", path, b)
	}
	first := img.At(b.Min.X, b.Min.Y)
	r0, g0, b0, _ := first.RGBA()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r != r0 || g != g0 || bl != b0 {
				return img
			}
		}
	}
	t.Fatalf("%s: image is one flat color", path)
	return nil
}

// checkNoTemp fails if dir holds anything but the named files (e.g. a
// leftover temporary file).
func checkNoTemp(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != len(want) {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("%s holds %v, want %v", dir, names, want)
	}
}

func curveSeries() []Series {
	var it, train, val []float64
	for i := range 200 {
		x := float64(i * 50)
		it = append(it, x)
		train = append(train, 3*math.Exp(-x/2000)+0.05+0.02*math.Sin(float64(i)))
	}
	var vit []float64
	for i := range 11 {
		x := float64(i * 1000)
		vit = append(vit, x)
		val = append(val, 3.2*math.Exp(-x/2200)+0.08)
	}
	return []Series{
		{Label: "meta-train (query MSE)", X: it, Y: train},
		{Label: "meta-val, 600 tasks", X: vit, Y: val},
	}
}

// fitPanels returns sinusoid panels with made-up fits that approach the
// true function, as in Finn et al. Fig. 2.
func fitPanels(n int) []FitPanel {
	var panels []FitPanel
	for i := range n {
		task := data.SinusoidTaskAt(1, uint64(i), []int{5, 10, 5, 10}[i%4], 0, data.SinusoidOptions{})
		var grid, truth, pre, one, ten []float64
		for j := range 201 {
			x := -5 + float64(j)*0.05
			grid = append(grid, x)
			truth = append(truth, task.F(x))
			pre = append(pre, 0.3*math.Sin(x))
			one = append(one, 0.6*task.F(x+0.3))
			ten = append(ten, 0.95*task.F(x+0.05))
		}
		panels = append(panels, FitPanel{
			Title:    fmt.Sprintf("MAML, K=%d", len(task.SupportX)),
			X:        grid,
			True:     truth,
			SupportX: task.SupportX,
			SupportY: task.SupportY,
			Fits: []Series{
				{Label: "pre-update", Y: pre},
				{Label: "1 grad step", Y: one},
				{Label: "10 grad steps", Y: ten},
			},
		})
	}
	return panels
}

// glyph returns a w×h image of a ring, a bar or a cross, by kind.
func glyph(kind, w, h int) []float64 {
	px := make([]float64, w*h)
	for y := range h {
		for x := range w {
			u := (float64(x)+0.5)/float64(w)*2 - 1
			v := (float64(y)+0.5)/float64(h)*2 - 1
			var ink float64
			switch kind % 3 {
			case 0:
				ink = 1 - math.Abs(math.Hypot(u, v)-0.6)*6
			case 1:
				ink = 1 - math.Abs(u)*6
			case 2:
				ink = 1 - math.Min(math.Abs(u-v), math.Abs(u+v))*5
			}
			px[y*w+x] = math.Max(0, math.Min(1, ink))
		}
	}
	return px
}

func episodeRows() [][]Cell {
	var support, query []Cell
	for c := range 5 {
		support = append(support, Cell{Pixels: glyph(c, 28, 28), W: 28, H: 28, Caption: fmt.Sprintf("class %d", c)})
		pred := c
		border := Green
		if c == 3 {
			pred, border = 1, Red
		}
		q := Cell{Pixels: glyph(c+1, 20, 28), W: 20, H: 28, Caption: fmt.Sprintf("pred %d", pred), Border: border}
		if pred != c {
			q.Caption, q.CaptionColor = fmt.Sprintf("wrong: %d (true %d)", pred, c), Red
		}
		query = append(query, q)
	}
	query = append(query, Cell{Caption: "blank"})
	return [][]Cell{support, query}
}

func TestLearningCurve(t *testing.T) {
	dir := t.TempDir()
	var names []string
	for _, logX := range []bool{false, true} {
		for _, logY := range []bool{false, true} {
			name := fmt.Sprintf("curve-%v-%v.png", logX, logY)
			names = append(names, name)
			path := filepath.Join(dir, name)
			o := CurveOptions{Title: "MAML sinusoid", XLabel: "meta-iteration", YLabel: "MSE", LogX: logX, LogY: logY}
			if err := LearningCurve(path, o, curveSeries()...); err != nil {
				t.Fatal(err)
			}
			img := checkPNG(t, path)
			if b := img.Bounds(); b.Dx() != 6*DPI || b.Dy() != 4*DPI {
				t.Errorf("size %v, want %d×%d", b, 6*DPI, 4*DPI)
			}
		}
	}
	checkNoTemp(t, dir, names...)
}

// TestSeriesColor: a series of its own Color is drawn in it and leaves
// the palette's next color to the series after it: blue, red, orange, and
// no green (which the third series would get without).
func TestSeriesColor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.png")
	line := func(y float64) ([]float64, []float64) { return []float64{0, 1, 2}, []float64{y, y, y} }
	var s [3]Series
	for i := range s {
		s[i].X, s[i].Y = line(float64(i))
		s[i].Label = fmt.Sprint(i)
	}
	s[1].Color = Red
	if err := LearningCurve(path, CurveOptions{}, s[:]...); err != nil {
		t.Fatal(err)
	}
	img := checkPNG(t, path)
	count := map[string]int{}
	names := map[color.Color]string{PaletteColor(0): "blue", Red: "red", PaletteColor(1): "orange", PaletteColor(2): "green"}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			for c, name := range names {
				cr, cg, cb, _ := c.RGBA()
				if r == cr && g == cg && bl == cb {
					count[name]++
				}
			}
		}
	}
	if count["blue"] == 0 || count["red"] == 0 || count["orange"] == 0 || count["green"] != 0 {
		t.Errorf("pixels by color %v: want blue, red and orange, no green", count)
	}
}

func TestLearningCurveBadData(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.png")
	// Non-finite points, non-positive points on a log axis, a single
	// point, and empty series are all drawable.
	for i, series := range [][]Series{
		{{Label: "diverged", X: []float64{0, 1, 2, 3}, Y: []float64{1, math.NaN(), math.Inf(1), 0.5}}},
		{{Label: "one", X: []float64{3}, Y: []float64{0.2}}, {Label: "zeros", X: []float64{1, 2}, Y: []float64{0, -1}}},
		{{Label: "x from zero", X: []float64{0, -1, 1e-3, 10}, Y: []float64{1, 2, 0.5, 0.7}}},
		{{Label: "narrow", X: []float64{0, 1, 2}, Y: []float64{0.21, 0.25, 0.3}}},
		{},
		{{Label: "empty"}},
	} {
		for _, logY := range []bool{false, true} {
			if err := LearningCurve(path, CurveOptions{LogY: logY, LogX: logY}, series...); err != nil {
				t.Errorf("case %d, log axes %v: %v", i, logY, err)
			}
			if err := LearningCurve(path, CurveOptions{LogX: !logY}, series...); err != nil {
				t.Errorf("case %d, log x %v: %v", i, !logY, err)
			}
		}
	}
	err := LearningCurve(path, CurveOptions{}, Series{Label: "bad", X: []float64{1, 2}, Y: []float64{1}})
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("mismatched lengths: err = %v, want an error naming %s", err, path)
	}
}

func TestSinusoidFits(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{1, 3, 4, 5} {
		path := filepath.Join(dir, fmt.Sprintf("fits%d.png", n))
		if err := SinusoidFits(path, "MAML on 10-shot sinusoid", fitPanels(n)); err != nil {
			t.Fatal(err)
		}
		img := checkPNG(t, path)
		cols := map[int]int{1: 1, 3: 3, 4: 2, 5: 3}[n]
		rows := map[int]int{1: 1, 3: 1, 4: 2, 5: 2}[n]
		if b := img.Bounds(); b.Dx() != int(4.5*float64(cols*DPI)) || b.Dy() != int(3.5*float64(rows*DPI)) {
			t.Errorf("%d panels: size %v, want %d×%d panels", n, b, cols, rows)
		}
	}
	if err := SinusoidFits(filepath.Join(dir, "x.png"), "", nil); err == nil {
		t.Error("no panels: want an error")
	}
	bad := fitPanels(1)
	bad[0].Fits[1].Y = bad[0].Fits[1].Y[:10]
	if err := SinusoidFits(filepath.Join(dir, "x.png"), "", bad); err == nil {
		t.Error("short fit: want an error")
	}
	// A panel with nothing but NaNs still draws.
	nan := []FitPanel{{Title: "nan", X: []float64{0, 1}, True: []float64{math.NaN(), math.NaN()}}}
	if err := SinusoidFits(filepath.Join(dir, "nan.png"), "", nan); err != nil {
		t.Error(err)
	}
}

// TestFitBands: a panel with a band (a predictive mean ± 2σ of 1 around
// a sine) fills a region in its light blue, where the same panel without
// the band has almost no pixel of that color (only where lines blend
// into the background), and a band of the wrong length is an error.
func TestFitBands(t *testing.T) {
	dir := t.TempDir()
	// the band's fill over white: each channel 255 − α·(255 − c)
	a := float64(0x40) / 255
	want := [3]int{int(math.Round(255 - a*(255-0x1f))), int(math.Round(255 - a*(255-0x77))), int(math.Round(255 - a*(255-0xb4)))}
	bandPixels := func(img image.Image) int {
		n := 0
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				if abs(int(r>>8)-want[0]) <= 1 && abs(int(g>>8)-want[1]) <= 1 && abs(int(bl>>8)-want[2]) <= 1 {
					n++
				}
			}
		}
		return n
	}
	panels := fitPanels(1)
	x := panels[0].X
	lo, hi := make([]float64, len(x)), make([]float64, len(x))
	for i, v := range x {
		lo[i], hi[i] = math.Sin(v)-1, math.Sin(v)+1
	}
	panels[0].SupportLabel, panels[0].TrueLabel = "context points", "true curve"
	plain := filepath.Join(dir, "plain.png")
	if err := SinusoidFits(plain, "CNP", panels); err != nil {
		t.Fatal(err)
	}
	panels[0].Bands = []Band{{Label: "mean ± 2σ", Lo: lo, Hi: hi}}
	banded := filepath.Join(dir, "band.png")
	if err := SinusoidFits(banded, "CNP", panels); err != nil {
		t.Fatal(err)
	}
	without, with := bandPixels(checkPNG(t, plain)), bandPixels(checkPNG(t, banded))
	t.Logf("%d pixels of the band's color with the band, %d without", with, without)
	if with < 10*(without+1) {
		t.Errorf("%d pixels of the band's color %v with the band, %d without; want at least 10 times as many", with, want, without)
	}
	panels[0].Bands[0].Hi = hi[:5]
	if err := SinusoidFits(filepath.Join(dir, "x.png"), "", panels); err == nil {
		t.Error("short band: want an error")
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestEpisode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ep.png")
	if err := Episode(path, "5-way 1-shot episode", episodeRows()); err != nil {
		t.Fatal(err)
	}
	img := checkPNG(t, path)
	// Somewhere there is black ink and somewhere a red border.
	var black, red bool
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			black = black || (r < 0x1000 && g < 0x1000 && bl < 0x1000)
			red = red || (r > 0xc000 && g < 0x4000 && bl < 0x4000)
		}
	}
	if !black || !red {
		t.Errorf("black ink %v, red border %v; want both", black, red)
	}
	// Without a title, too.
	if err := Episode(path, "", episodeRows()[:1]); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, path)

	for name, rows := range map[string][][]Cell{
		"no rows":    nil,
		"empty rows": {{}, {}},
		"short":      {{{Pixels: make([]float64, 10), W: 28, H: 28}}},
		"negative":   {{{W: -1, H: -1, Pixels: make([]float64, 1)}}},
	} {
		if err := Episode(path, "x", rows); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestUnwritablePath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{
		filepath.Join(dir, "missing", "x.png"), // no such directory
		filepath.Join(file, "x.png"),           // parent is a file
		dir,                                    // a directory
	} {
		if err := LearningCurve(path, CurveOptions{}, curveSeries()...); err == nil {
			t.Errorf("LearningCurve(%s): want an error", path)
		}
		if err := SinusoidFits(path, "t", fitPanels(1)); err == nil {
			t.Errorf("SinusoidFits(%s): want an error", path)
		}
		if err := Episode(path, "t", episodeRows()); err == nil {
			t.Errorf("Episode(%s): want an error", path)
		}
	}
	// Failed writes leave no temporary files behind.
	checkNoTemp(t, dir, "file")
}

// TestDemo writes one example of each figure to $PLOTS_DEMO_DIR, to look
// at; it is skipped when that is unset.
func TestDemo(t *testing.T) {
	dir := os.Getenv("PLOTS_DEMO_DIR")
	if dir == "" {
		t.Skip("PLOTS_DEMO_DIR not set")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	o := CurveOptions{Title: "MAML, sinusoid K=10", XLabel: "meta-iteration", YLabel: "query MSE", LogY: true}
	if err := LearningCurve(filepath.Join(dir, "curve.png"), o, curveSeries()...); err != nil {
		t.Fatal(err)
	}
	o.LogY = false
	if err := LearningCurve(filepath.Join(dir, "curve-linear.png"), o, curveSeries()...); err != nil {
		t.Fatal(err)
	}
	if err := SinusoidFits(filepath.Join(dir, "fits2.png"), "MAML on 5- and 10-shot sinusoids, 70,000 meta-iterations", fitPanels(2)); err != nil {
		t.Fatal(err)
	}
	if err := SinusoidFits(filepath.Join(dir, "fits4.png"), "MAML on 5- and 10-shot sinusoids, 70,000 meta-iterations\nfour held-out tasks", fitPanels(4)); err != nil {
		t.Fatal(err)
	}
	if err := Episode(filepath.Join(dir, "episode.png"), longTitle, episodeRows()); err != nil {
		t.Fatal(err)
	}
}

// longTitle is a heading and a subtitle, each too long for one line of a
// 5-way episode figure.
const longTitle = "ProtoNet on Omniglot 5-way 1-shot (background split), 40000 meta-iterations\n" +
	"One held-out episode. Top row: its support set (1 per class). Below: 5 of its 75 queries, " +
	"captioned with the class predicted by the nearest prototype; green frame: right, red frame: wrong."

// TestEpisodeTitleFits: a long title wraps inside the figure instead of
// running off its edges (no ink in the outermost pixel columns).
func TestEpisodeTitleFits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ep.png")
	if err := Episode(path, longTitle, episodeRows()); err != nil {
		t.Fatal(err)
	}
	img := checkPNG(t, path)
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for _, x := range []int{b.Min.X, b.Max.X - 1} {
			if r, g, bl, _ := img.At(x, y).RGBA(); r < 0xc000 || g < 0xc000 || bl < 0xc000 {
				t.Fatalf("ink at the edge, pixel (%d, %d)", x, y)
			}
		}
	}
}

// TestTitleLines: titles wrap at word boundaries to the width, keep every
// word in order, and set the heading larger than the subtitle.
func TestTitleLines(t *testing.T) {
	width := vg.Points(200)
	lines := titleLines(longTitle, width)
	heading, sub, _ := strings.Cut(longTitle, "\n")
	var words []string
	for i, l := range lines {
		if w := l.style.Width(l.text); w > width {
			t.Errorf("line %d %q is %v wide, want at most %v", i, l.text, w, width)
		}
		words = append(words, strings.Fields(l.text)...)
	}
	if got, want := strings.Join(words, " "), strings.Join(strings.Fields(heading+" "+sub), " "); got != want {
		t.Errorf("words %q, want %q", got, want)
	}
	nHeading := len(titleLines(heading, width))
	if nHeading < 2 || len(lines) <= nHeading {
		t.Fatalf("%d heading lines of %d, want the heading wrapped and a subtitle", nHeading, len(lines))
	}
	if big, small := lines[0].style.Font.Size, lines[nHeading].style.Font.Size; big <= small {
		t.Errorf("heading %v, subtitle %v: want the heading larger", big, small)
	}
	if titleHeight("", width) != 0 || len(titleLines("", width)) != 0 {
		t.Error("an empty title takes room")
	}
}

// TestTicks: axes are labelled with round numbers written plainly.
func TestTicks(t *testing.T) {
	labels := func(ticks []plot.Tick) []string {
		var l []string
		for _, t := range ticks {
			if t.Label != "" {
				l = append(l, t.Label)
			}
		}
		return l
	}
	for _, c := range []struct {
		m        plot.Ticker
		min, max float64
		want     string
	}{
		{niceTicks{}, 0, 300, "0 50 100 150 200 250 300"},
		{niceTicks{}, 1, 12000, "2000 4000 6000 8000 10,000 12,000"},
		{niceTicks{}, -1.2, 1.3, "-1.0 -0.5 0.0 0.5 1.0"},
		{logTicks{}, 0.005, 20, "0.01 0.1 1 10"},
		{logTicks{}, 0.15, 3, "0.2 0.5 1 2"},
		{logTicks{}, 1.6, 6.2, "2 3 4 5 6"},
	} {
		if got := strings.Join(labels(c.m.Ticks(c.min, c.max)), " "); got != c.want {
			t.Errorf("%T on [%g, %g]: labels %q, want %q", c.m, c.min, c.max, got, c.want)
		}
	}
	// Over ranges of all sizes, a linear axis gets three to seven labels,
	// none in exponent form, each the number it marks.
	for k := -4; k <= 7; k++ {
		for _, f := range []float64{1, 1.3, 2.1, 4.5, 7.7} {
			lo, hi := -0.3*f*math.Pow10(k), f*math.Pow10(k)
			var n int
			for _, tk := range (niceTicks{}).Ticks(lo, hi) {
				if tk.Label == "" {
					continue
				}
				n++
				v, err := strconv.ParseFloat(strings.ReplaceAll(tk.Label, ",", ""), 64)
				if err != nil || strings.ContainsAny(tk.Label, "eE") || math.Abs(v-tk.Value) > 1e-9*(hi-lo) {
					t.Errorf("[%g, %g]: label %q for %g", lo, hi, tk.Label, tk.Value)
				}
			}
			if n < 3 || n > 7 {
				t.Errorf("[%g, %g]: %d labels", lo, hi, n)
			}
		}
	}
}

// TestLearningCurveSameColor: a SameColor series takes the color of the
// one before it, and the series after it the next color.
func TestLearningCurveSameColor(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pairs.png")
	x := []float64{1, 2, 3, 4}
	series := []Series{
		{Label: "a at init", X: x, Y: []float64{1, 2, 3, 4}, Dashed: true},
		{Label: "a trained", X: x, Y: []float64{2, 3, 4, 5}, SameColor: true},
		{Label: "b at init", X: x, Y: []float64{4, 3, 2, 1}, Dashed: true},
		{Label: "b trained", X: x, Y: []float64{5, 4, 3, 2}, SameColor: true},
	}
	if err := LearningCurve(path, CurveOptions{LogY: true}, series...); err != nil {
		t.Fatal(err)
	}
	img := checkPNG(t, path)
	has := make([]bool, 3)
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			for i := range has {
				pr, pg, pb, _ := palette[i].RGBA()
				has[i] = has[i] || (r == pr && g == pg && bl == pb)
			}
		}
	}
	if !has[0] || !has[1] || has[2] {
		t.Errorf("palette colors 0, 1, 2 drawn: %v; want the first two only", has)
	}
}
