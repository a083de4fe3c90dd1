package plots

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// DPI is the resolution of the PNG files written by this package.
const DPI = 150

// Series is one curve: Y[i] against X[i]. Label names it in the legend; a
// series with an empty label gets no legend entry.
type Series struct {
	Label string
	X, Y  []float64
	// Dashed draws a LearningCurve series' line dashed, e.g. a baseline
	// before adaptation. (SinusoidFits dashes every fit.)
	Dashed bool
	// Faint draws a LearningCurve series' line thin and light gray, e.g. a
	// noisy raw curve under its smoothed version; it takes no color from
	// the palette, so the series after it gets the one it would have had.
	Faint bool
	// SameColor draws a LearningCurve series in the color and marker
	// shape of the series drawn before it, e.g. a network's curve after
	// training (solid) beside its curve at initialisation (Dashed).
	SameColor bool
	// Color, if not nil, draws a LearningCurve series in this color
	// instead of the palette's next one, which the series after it then
	// gets, e.g. a marker in the color of the curve it belongs to
	// (PaletteColor).
	Color color.Color
}

// CurveOptions sets the labels and scale of a LearningCurve plot.
type CurveOptions struct {
	// Title labels the plot (see Episode for titles of several lines);
	// XLabel and YLabel label its axes. Empty ones are left out.
	Title, XLabel, YLabel string
	// LogY makes the y axis logarithmic, and says so in its label; points
	// with y ≤ 0 are then left out.
	LogY bool
	// LogX does the same for the x axis (e.g. a learning rate); points
	// with x ≤ 0 are then left out.
	LogX bool
}

// FitPanel is one panel of a SinusoidFits figure, in the style of Finn et
// al. 2017, Fig. 2: the true function, the K support points the model
// adapts on, and the model's predictions.
type FitPanel struct {
	// Title labels the panel, e.g. "task 1: amplitude 2.1, phase 0.5";
	// empty for none.
	Title string
	// X is a dense grid of inputs, e.g. 200 points on [−5, 5].
	X []float64
	// True holds the true function at X. It may be nil.
	True []float64
	// TrueLabel names True in the legend. If empty, a default of "ground
	// truth" is used.
	TrueLabel string
	// SupportX and SupportY are the support points, drawn as triangles.
	SupportX, SupportY []float64
	// Fits are the model's predictions, each drawn as a dashed line and
	// named in the legend by its Label (e.g. "pre-update", "1 grad step",
	// "10 grad steps"). A fit's Y is plotted against its own X, or against
	// the panel's X if its X is nil.
	Fits []Series
	// Bands are shaded regions under the lines, e.g. a predictive mean
	// ± 2σ, each named in the legend by its Label.
	Bands []Band
	// SupportLabel names the support points in the legend. If empty, a
	// default of "support points (K=<their number>)" is used.
	SupportLabel string
}

// Band is a region between two curves over a FitPanel's X: Lo[i] to
// Hi[i] at X[i].
type Band struct {
	Label  string
	Lo, Hi []float64
}

// Cell is one image of an Episode figure.
type Cell struct {
	// Pixels holds H rows of W values, row-major; 0 is white background
	// and 1 black ink (values are clamped to [0, 1], NaN is white). A cell
	// with no pixels and W = H = 0 is left blank (its caption and border
	// are still drawn).
	Pixels []float64
	W, H   int
	// Caption is written under the image, in a smaller font if it is
	// wider than the cell; empty for none.
	Caption string
	// CaptionColor is the caption's color; nil for black.
	CaptionColor color.Color
	// Border, if not nil, is drawn as a thick frame around the image, e.g.
	// green for a correct prediction and red for a wrong one. Cells without
	// one get a thin gray frame.
	Border color.Color
}

// Colors commonly used for Cell.Border and Cell.CaptionColor.
var (
	Green = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	Red   = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
)

// palette is matplotlib's tab10, whose colors stay distinct in print.
var palette = []color.Color{
	color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
	color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}, // orange
	color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, // green
	color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}, // red
	color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, // purple
	color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}, // brown
	color.RGBA{R: 0xe3, G: 0x77, B: 0xc2, A: 0xff}, // pink
	color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}, // gray
	color.RGBA{R: 0xbc, G: 0xbd, B: 0x22, A: 0xff}, // olive
	color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff}, // cyan
}

// PaletteColor is the color LearningCurve gives its i-th series (counting
// those without their own Color, and not the faint ones).
func PaletteColor(i int) color.Color { return palette[i%len(palette)] }

// dashes are the dash patterns of successive fits: dotted, dashed,
// dash-dotted, long-dashed.
var dashes = [][]vg.Length{
	{vg.Points(1.5), vg.Points(2.5)},
	{vg.Points(6), vg.Points(3)},
	{vg.Points(6), vg.Points(2.5), vg.Points(1.5), vg.Points(2.5)},
	{vg.Points(10), vg.Points(4)},
}

// markers are the point shapes of successive LearningCurve series, so that
// series stay apart in gray print too.
var markers = []draw.GlyphDrawer{draw.CircleGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.RingGlyph{}}

// LearningCurve writes to path a PNG (6×4 inches) of the series as lines,
// in distinct colors, with a legend of their labels under the axes, where
// it covers no data; series of at most 30 points (e.g. validation runs)
// also mark each point, each series with its own shape. Axis ticks are
// round numbers, and a linear x axis whose data start near zero starts at
// zero. NaN and infinite points (and, with o.LogY or o.LogX, points with
// y ≤ 0 or x ≤ 0) are left out, so a diverged run does not spoil the
// plot. It fails if a series' X and Y differ in length.
func LearningCurve(path string, o CurveOptions, series ...Series) error {
	return render(path, 6*vg.Inch, 4*vg.Inch, func(dc draw.Canvas) error {
		p := plot.New()
		p.X.Label.Text = o.XLabel
		p.X.Tick.Marker = niceTicks{}
		p.Y.Tick.Marker = niceTicks{}
		p.Add(plotter.NewGrid())
		var leg legend
		n, colors, shapes := 0, 0, 0
		for i, s := range series {
			xys, err := points(s.X, s.Y, o.LogX, o.LogY)
			if err != nil {
				return fmt.Errorf("series %d (%q): %w", i, s.Label, err)
			}
			if len(xys) == 0 {
				continue
			}
			n += len(xys)
			c, j := colors, shapes
			if s.SameColor && colors > 0 {
				c, j = colors-1, max(shapes-1, 0)
			}
			thumbs, err := addCurve(p, xys, s, c, j)
			if !s.Faint && s.Color == nil && c == colors {
				colors++
			}
			if !s.Faint && j == shapes {
				shapes++
			}
			if err != nil {
				return fmt.Errorf("series %d (%q): %w", i, s.Label, err)
			}
			leg.add(s.Label, thumbs...)
		}
		yLabel := o.YLabel
		if o.LogY {
			yLabel = strings.TrimSpace(yLabel + " (log scale)")
		}
		if o.LogY && n > 0 {
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = logTicks{}
			if p.Y.Min == p.Y.Max {
				p.Y.Min /= 2
				p.Y.Max *= 2
			}
		}
		xLabel := o.XLabel
		switch {
		case o.LogX && n > 0:
			xLabel = strings.TrimSpace(xLabel + " (log scale)")
			p.X.Scale = plot.LogScale{}
			p.X.Tick.Marker = logTicks{}
			if p.X.Min == p.X.Max {
				p.X.Min /= 2
				p.X.Max *= 2
			}
		case p.X.Min > 0 && p.X.Min < 0.2*p.X.Max:
			p.X.Min = 0
		}
		p.X.Label.Text = xLabel
		dc = draw.Crop(dc, vg.Points(6), -vg.Points(12), vg.Points(4), -vg.Points(6))
		dc = drawTitle(dc, o.Title)
		dc = leg.drawBelow(dc)
		drawWithYLabel(dc, p, yLabel)
		return nil
	})
}

// drawWithYLabel draws p in c with label along its y axis, centred on the
// data area. (Plot's own y label would do, but it mistakes the centre of a
// log axis and then squeezes the data area of long labels.)
func drawWithYLabel(c draw.Canvas, p *plot.Plot, label string) {
	if label == "" {
		p.Draw(c)
		return
	}
	sty := p.Y.Label.TextStyle
	inner := draw.Crop(c, sty.Height(label)+p.Y.Label.Padding, 0, 0, 0)
	p.Draw(inner)
	sty.Rotation += math.Pi / 2
	x := c.Min.X + sty.Height(label) - sty.FontExtents().Descent
	data := p.DataCanvas(inner)
	c.FillText(sty, vg.Point{X: x, Y: data.Center().Y}, label)
}

// addCurve adds a LearningCurve series to p, drawn from its points xys,
// and returns the thumbnails of its legend entry. Unless faint or of its
// own color, the series gets the i-th palette color; if sparse, it gets
// the j-th marker shape.
func addCurve(p *plot.Plot, xys plotter.XYs, s Series, i, j int) ([]plot.Thumbnailer, error) {
	c := PaletteColor(i)
	switch {
	case s.Faint:
		c = color.Gray{Y: 0xb4}
	case s.Color != nil:
		c = s.Color
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.Color = c
	l.Width = vg.Points(2)
	if s.Faint {
		l.Width = vg.Points(1)
	}
	if s.Dashed {
		l.Dashes = dashes[1]
	}
	p.Add(l)
	thumbs := []plot.Thumbnailer{l}
	if len(xys) <= 30 {
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, err
		}
		sc.Color = c
		sc.Shape = markers[j%len(markers)]
		sc.Radius = vg.Points(3)
		p.Add(sc)
		thumbs = append(thumbs, sc)
	}
	return thumbs, nil
}

// SinusoidFits writes to path a PNG of the panels side by side (up to
// three), or in a grid (four or more: 2×2, then 3 columns), each panel 4.5×3.5
// inches and drawn as Finn et al. 2017, Fig. 2: the true function as a solid
// red line, the support points as filled purple triangles, and the fits as
// dashed lines in distinct colors. The title (see Episode) is on top, and
// one legend for all panels under them. NaN and infinite points are left
// out. It fails if there are no panels or a panel's slices differ in
// length.
func SinusoidFits(path, title string, panels []FitPanel) error {
	if len(panels) == 0 {
		return fmt.Errorf("plot %s: no panels", path)
	}
	cols := len(panels)
	switch {
	case cols == 4:
		cols = 2
	case cols > 4:
		cols = 3
	}
	rows := (len(panels) + cols - 1) / cols
	const panelW, panelH = 4.5 * vg.Inch, 3.5 * vg.Inch
	return render(path, vg.Length(cols)*panelW, vg.Length(rows)*panelH, func(dc draw.Canvas) error {
		grid := make([][]*plot.Plot, rows)
		for r := range grid {
			grid[r] = make([]*plot.Plot, cols)
		}
		var leg legend
		for i, fp := range panels {
			p, err := fitPlot(fp, &leg)
			if err != nil {
				return fmt.Errorf("panel %d (%q): %w", i, fp.Title, err)
			}
			grid[i/cols][i%cols] = p
		}
		dc = drawTitle(draw.Crop(dc, vg.Points(6), -vg.Points(6), vg.Points(4), -vg.Points(6)), title)
		dc = leg.drawBelow(dc)
		t := draw.Tiles{
			Rows: rows, Cols: cols,
			PadX: vg.Points(18), PadY: vg.Points(12),
			PadRight: vg.Points(6),
		}
		canvases := plot.Align(grid, t, dc)
		for r := range grid {
			for c, p := range grid[r] {
				if p != nil {
					p.Draw(canvases[r][c])
				}
			}
		}
		return nil
	})
}

// fitPlot builds one SinusoidFits panel and adds its entries to leg.
func fitPlot(fp FitPanel, leg *legend) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fp.Title
	p.X.Label.Text = "x"
	p.Y.Label.Text = "y"
	p.X.Tick.Marker = niceTicks{}
	p.Y.Tick.Marker = niceTicks{}
	p.Add(plotter.NewGrid())
	if fp.True != nil {
		xys, err := points(fp.X, fp.True, false, false)
		if err != nil {
			return nil, fmt.Errorf("true function: %w", err)
		}
		if len(xys) > 0 {
			l, err := plotter.NewLine(xys)
			if err != nil {
				return nil, fmt.Errorf("true function: %w", err)
			}
			l.Color = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
			l.Width = vg.Points(2)
			p.Add(l)
			label := fp.TrueLabel
			if label == "" {
				label = "ground truth"
			}
			leg.add(label, l)
		}
	}
	for i, b := range fp.Bands {
		if len(b.Lo) != len(fp.X) || len(b.Hi) != len(fp.X) {
			return nil, fmt.Errorf("band %d (%q): %d and %d values for %d x values", i, b.Label, len(b.Lo), len(b.Hi), len(fp.X))
		}
		var outline plotter.XYs
		for k := range fp.X {
			if finite(fp.X[k]) && finite(b.Lo[k]) && finite(b.Hi[k]) {
				outline = append(outline, plotter.XY{X: fp.X[k], Y: b.Lo[k]})
			}
		}
		for k := len(fp.X) - 1; k >= 0; k-- {
			if finite(fp.X[k]) && finite(b.Lo[k]) && finite(b.Hi[k]) {
				outline = append(outline, plotter.XY{X: fp.X[k], Y: b.Hi[k]})
			}
		}
		if len(outline) < 3 {
			continue
		}
		poly, err := plotter.NewPolygon(outline)
		if err != nil {
			return nil, fmt.Errorf("band %d (%q): %w", i, b.Label, err)
		}
		poly.Color = bandColors[i%len(bandColors)]
		poly.LineStyle.Width = 0
		p.Add(poly)
		leg.add(b.Label, poly)
	}
	for i, f := range fp.Fits {
		x := f.X
		if x == nil {
			x = fp.X
		}
		xys, err := points(x, f.Y, false, false)
		if err != nil {
			return nil, fmt.Errorf("fit %d (%q): %w", i, f.Label, err)
		}
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("fit %d (%q): %w", i, f.Label, err)
		}
		l.Color = fitColors[i%len(fitColors)]
		l.Width = vg.Points(1.75)
		l.Dashes = dashes[i%len(dashes)]
		p.Add(l)
		leg.add(f.Label, l)
	}
	xys, err := points(fp.SupportX, fp.SupportY, false, false)
	if err != nil {
		return nil, fmt.Errorf("support points: %w", err)
	}
	if len(xys) > 0 {
		sc, err := plotter.NewScatter(xys)
		if err != nil {
			return nil, fmt.Errorf("support points: %w", err)
		}
		sc.Shape = draw.PyramidGlyph{}
		sc.Color = color.RGBA{R: 0x6a, G: 0x1b, B: 0x9a, A: 0xff}
		sc.Radius = vg.Points(3.5)
		p.Add(sc)
		label := fp.SupportLabel
		if label == "" {
			label = fmt.Sprintf("support points (K=%d)", len(xys))
		}
		leg.add(label, sc)
	}
	return p, nil
}

// fitColors are the colors of successive fits in SinusoidFits: blue, green,
// orange, gray, cyan — none of them the true function's red or the support
// points' purple.
var fitColors = []color.Color{palette[0], palette[2], palette[1], palette[7], palette[9]}

// bandColors are the fills of successive bands: the first fit's blue and
// the second's green, light.
var bandColors = []color.Color{
	color.NRGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0x40},
	color.NRGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0x40},
}

// points pairs x and y, dropping non-finite points and, if posX or posY,
// points with x ≤ 0 or y ≤ 0. It fails if x and y differ in length.
func points(x, y []float64, posX, posY bool) (plotter.XYs, error) {
	if len(x) != len(y) {
		return nil, fmt.Errorf("%d x values but %d y values", len(x), len(y))
	}
	xys := make(plotter.XYs, 0, len(x))
	for i := range x {
		if !finite(x[i]) || !finite(y[i]) || (posX && x[i] <= 0) || (posY && y[i] <= 0) {
			continue
		}
		xys = append(xys, plotter.XY{X: x[i], Y: y[i]})
	}
	return xys, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// niceTicks marks a linear axis at a round step (1, 2 or 5 × 10ⁿ) that
// gives three to seven labels, with an unlabelled tick halfway between
// each two, e.g. 0, 50, 100 … 300 or 0, 2000 … 10,000. Labels are written
// by tickLabel.
type niceTicks struct{}

func (niceTicks) Ticks(min, max float64) []plot.Tick {
	if !(max > min) || !finite(min) || !finite(max) {
		return nil
	}
	step := niceStep((max - min) / 6)
	half := step / 2
	var ticks []plot.Tick
	// At most 20 ticks: beyond 2⁵³, k++ may not change k.
	for k := math.Ceil(min / half); k*half <= max+half*1e-9 && len(ticks) < 20; k++ {
		v := k * half
		if v == 0 {
			v = 0 // not −0
		}
		t := plot.Tick{Value: v}
		if math.Mod(k, 2) == 0 {
			t.Label = tickLabel(v, step)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// niceStep is the least of 1, 2, 5 or 10 × 10ⁿ that is at least raw > 0.
func niceStep(raw float64) float64 {
	mag := math.Pow10(int(math.Floor(math.Log10(raw))))
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw*(1-1e-9) {
			return m * mag
		}
	}
	return 10 * mag
}

// tickLabel writes v, a multiple of step, as a plain number with as many
// decimals as step needs (0.05 → two) and the thousands of numbers from
// 10,000 up set apart by commas: "0.05", "1500", "20,000". Numbers too large
// or small for that are written in exponent form.
func tickLabel(v, step float64) string {
	if a := math.Abs(v); a >= 1e15 || step < 1e-6 {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	decimals := 0
	if step < 1 {
		decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if math.Abs(v) < 10000 {
		return s
	}
	sign, digits := "", s
	if v < 0 {
		sign, digits = "-", s[1:]
	}
	intPart, frac, _ := strings.Cut(digits, ".")
	var b strings.Builder
	for i, d := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	if frac != "" {
		return sign + b.String() + "." + frac
	}
	return sign + b.String()
}

// logTicks marks 1…9 × 10ⁿ on a log axis and labels the powers of ten, or,
// if the range holds fewer than three of them, the 1, 2 and 5 × 10ⁿ, or, if
// it holds fewer than three of those, every mark, so the axis always has
// numbers and is never crowded with them: 0.01, 0.1, 1, 10 or 0.2, 0.5, 1, 2
// or 2, 3, 4, 5. Labels are written by tickLabel. (plot.LogTicks truncates
// the lowest decade of ranges below 1.)
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	if !(min > 0 && max >= min) || math.IsInf(max, 0) {
		return nil
	}
	lo := int(math.Floor(math.Log10(min)))
	hi := int(math.Ceil(math.Log10(max)))
	var ticks []plot.Tick
	for d := lo; d <= hi; d++ {
		for i := 1; i <= 9; i++ {
			v := float64(i) * math.Pow10(d)
			if v < min*(1-1e-9) || v > max*(1+1e-9) {
				continue
			}
			ticks = append(ticks, plot.Tick{Value: v})
		}
	}
	for _, labelled := range []string{"1", "125", "123456789"} {
		n := 0
		for _, t := range ticks {
			if strings.Contains(labelled, leadingDigit(t.Value)) {
				n++
			}
		}
		if n >= 3 || labelled == "123456789" {
			for i, t := range ticks {
				if strings.Contains(labelled, leadingDigit(t.Value)) {
					ticks[i].Label = tickLabel(t.Value, t.Value)
				}
			}
			break
		}
	}
	return ticks
}

// leadingDigit is the first significant digit of v > 0, as a string.
func leadingDigit(v float64) string {
	return strconv.FormatFloat(v, 'e', 0, 64)[:1]
}

// legend is a legend drawn outside the axes, where it covers no data: its
// entries sit side by side in rows under the plot, each a thumbnail of a
// series' style followed by its label.
type legend []legendEntry

type legendEntry struct {
	label  string
	thumbs []plot.Thumbnailer
}

// Legend text is 9-point; thumbnails are legendThumb wide and entries
// legendGap apart (vg.Length counts points).
const (
	legendThumb vg.Length = 24
	legendGap   vg.Length = 14
)

// add appends an entry. An empty label adds none, and neither does a label
// already there, so panels drawn alike share their entries.
func (l *legend) add(label string, thumbs ...plot.Thumbnailer) {
	if label == "" {
		return
	}
	for _, e := range *l {
		if e.label == label {
			return
		}
	}
	*l = append(*l, legendEntry{label, thumbs})
}

// drawBelow draws the legend at the bottom of c, in as many centred rows
// as its entries need, and returns the part of c above it.
func (l legend) drawBelow(c draw.Canvas) draw.Canvas {
	if len(l) == 0 {
		return c
	}
	sty := textStyle(9)
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YCenter
	width := func(e legendEntry) vg.Length { return legendThumb + vg.Points(4) + sty.Width(e.label) }
	// Lay the entries out in rows no wider than c.
	var rows [][]legendEntry
	var rowW []vg.Length
	for _, e := range l {
		last := len(rows) - 1
		if last < 0 || rowW[last]+legendGap+width(e) > c.Size().X {
			rows, rowW = append(rows, nil), append(rowW, -legendGap)
			last++
		}
		rows[last] = append(rows[last], e)
		rowW[last] += legendGap + width(e)
	}
	rowH := sty.FontExtents().Height * 1.3
	for r, row := range rows {
		y := c.Min.Y + vg.Length(len(rows)-r-1)*rowH
		x := c.Center().X - rowW[r]/2
		for _, e := range row {
			thumb := &draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
				Min: vg.Point{X: x, Y: y},
				Max: vg.Point{X: x + legendThumb, Y: y + rowH},
			}}
			for _, t := range e.thumbs {
				t.Thumbnail(thumb)
			}
			c.FillText(sty, vg.Point{X: x + legendThumb + vg.Points(4), Y: y + rowH/2}, e.label)
			x += width(e) + legendGap
		}
	}
	c.Min.Y += vg.Length(len(rows))*rowH + vg.Points(4)
	return c
}

// A figure title is the text up to its first newline, a heading in
// 12-point type, and any lines after that, a subtitle in 9-point type,
// all centred and word-wrapped to the figure's width.
type titleLine struct {
	text  string
	style text.Style
}

// titleLines lays out title in lines no wider than width.
func titleLines(title string, width vg.Length) []titleLine {
	var lines []titleLine
	for i, para := range strings.Split(title, "\n") {
		sty := textStyle(9)
		if i == 0 {
			sty = textStyle(12)
		}
		line := ""
		for _, word := range strings.Fields(para) {
			if line != "" && sty.Width(line+" "+word) > width {
				lines = append(lines, titleLine{line, sty})
				line = ""
			}
			line = strings.TrimPrefix(line+" "+word, " ")
		}
		if line != "" {
			lines = append(lines, titleLine{line, sty})
		}
	}
	return lines
}

// titleHeight is the height a title takes at the top of a figure of the
// given width, with the gap under it: 0 for an empty title.
func titleHeight(title string, width vg.Length) vg.Length {
	lines := titleLines(title, width)
	if len(lines) == 0 {
		return 0
	}
	h := vg.Points(6)
	for _, l := range lines {
		h += l.style.FontExtents().Height
	}
	return h
}

// drawTitle draws title (see titleLines) across the top of c and returns
// the part of c under it.
func drawTitle(c draw.Canvas, title string) draw.Canvas {
	y := c.Max.Y
	for _, l := range titleLines(title, c.Size().X) {
		c.FillText(l.style, vg.Point{X: c.Center().X, Y: y}, l.text)
		y -= l.style.FontExtents().Height
	}
	c.Max.Y -= titleHeight(title, c.Size().X)
	return c
}

// Episode writes to path a PNG of a few-shot episode: the rows of cells as
// a grid of grayscale images (ink black on white), each with its caption
// below and its border, under the title. The title's first line is a
// heading; any lines after it (separated by newlines) are a subtitle in
// smaller type; both are word-wrapped to the figure's width, as in
// LearningCurve and SinusoidFits. Rows may differ in length. It fails if
// there are no cells or a cell's Pixels do not hold W×H values.
func Episode(path string, title string, rows [][]Cell) error {
	cols := 0
	for r, row := range rows {
		cols = max(cols, len(row))
		for c, cell := range row {
			if cell.W < 0 || cell.H < 0 || cell.W > 1<<14 || cell.H > 1<<14 || len(cell.Pixels) != cell.W*cell.H {
				return fmt.Errorf("plot %s: cell (%d, %d): %d pixels for a %d×%d image", path, r, c, len(cell.Pixels), cell.W, cell.H)
			}
		}
	}
	if cols == 0 {
		return fmt.Errorf("plot %s: no cells", path)
	}
	// Cells are 1 inch wide (narrower for many columns) with room for a
	// caption under each.
	side := vg.Inch
	if cols > 12 {
		side = max(12*vg.Inch/vg.Length(cols), 0.4*vg.Inch)
	}
	pad := side / 8
	captionH := vg.Points(15)
	cellW, cellH := side+pad, side+captionH+pad
	w := vg.Length(cols)*cellW + pad
	titleH := titleHeight(title, w-2*pad)
	h := vg.Length(len(rows))*cellH + titleH + 2*pad
	return render(path, w, h, func(dc draw.Canvas) error {
		drawTitle(draw.Crop(dc, pad, -pad, 0, -pad), title)
		for r, row := range rows {
			top := h - 2*pad - titleH - vg.Length(r)*cellH
			for c, cell := range row {
				left := pad + vg.Length(c)*cellW
				box := vg.Rectangle{
					Min: vg.Point{X: left, Y: top - side},
					Max: vg.Point{X: left + side, Y: top},
				}
				drawCell(dc, box, cell)
				if cell.Caption != "" {
					sty := textStyle(8)
					if cw := sty.Width(cell.Caption); cw > cellW {
						sty.Font.Size = max(sty.Font.Size*cellW/cw, vg.Points(5))
					}
					if cell.CaptionColor != nil {
						sty.Color = cell.CaptionColor
					}
					dc.FillText(sty, vg.Point{X: left + side/2, Y: top - side - vg.Points(4.5)}, cell.Caption)
				}
			}
		}
		return nil
	})
}

// textStyle is the plot's default font at the given size, centred
// horizontally and hanging from its anchor point vertically.
func textStyle(size float64) text.Style {
	return text.Style{
		Color:   color.Black,
		Font:    font.From(plot.DefaultFont, vg.Points(size)),
		XAlign:  draw.XCenter,
		YAlign:  draw.YTop,
		Handler: plot.DefaultTextHandler,
	}
}

// drawCell draws the cell's frame and image, fitted into box with its
// aspect ratio kept.
func drawCell(dc draw.Canvas, box vg.Rectangle, cell Cell) {
	rect := box
	if cell.W > 0 && cell.H > 0 {
		size := box.Size()
		if cell.W > cell.H {
			d := size.Y * (1 - vg.Length(cell.H)/vg.Length(cell.W)) / 2
			rect.Min.Y += d
			rect.Max.Y -= d
		} else if cell.H > cell.W {
			d := size.X * (1 - vg.Length(cell.W)/vg.Length(cell.H)) / 2
			rect.Min.X += d
			rect.Max.X -= d
		}
	}
	frame := vg.Points(0.5)
	var frameColor color.Color = color.Gray{Y: 0xb0}
	if cell.Border != nil {
		frame, frameColor = vg.Points(3), cell.Border
	}
	dc.FillPolygon(frameColor, rectPoints(vg.Rectangle{
		Min: vg.Point{X: rect.Min.X - frame, Y: rect.Min.Y - frame},
		Max: vg.Point{X: rect.Max.X + frame, Y: rect.Max.Y + frame},
	}))
	dc.FillPolygon(color.White, rectPoints(rect))
	if cell.W > 0 && cell.H > 0 {
		// Upscale by pixel replication so the canvas' interpolation does
		// not blur the digits.
		scale := max(1, int(math.Ceil(rect.Size().X.Dots(DPI)/float64(cell.W))))
		dc.DrawImage(rect, grayImage(cell, scale))
	}
}

func rectPoints(r vg.Rectangle) []vg.Point {
	return []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}}
}

// grayImage renders the cell's pixels, each as a scale×scale block.
func grayImage(cell Cell, scale int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, cell.W*scale, cell.H*scale))
	for y := range cell.H {
		for x := range cell.W {
			v := cell.Pixels[y*cell.W+x]
			if math.IsNaN(v) {
				v = 0
			}
			g := uint8(math.Round(255 * (1 - min(max(v, 0), 1))))
			for dy := range scale {
				row := img.Pix[(y*scale+dy)*img.Stride+x*scale:]
				for dx := range scale {
					row[dx] = g
				}
			}
		}
	}
	return img
}

// render draws a w×h figure with draw and writes it to path as a PNG,
// atomically: the image goes to a temporary file in path's directory that
// is renamed onto path only once complete, so an interrupted run never
// leaves a truncated PNG. A panic inside the plotting library is returned
// as an error.
func render(path string, w, h vg.Length, drawFn func(draw.Canvas) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("plot %s: %v", path, r)
		}
	}()
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI))
	if err := drawFn(draw.New(c)); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	if err := writeAtomic(path, vgimg.PngCanvas{Canvas: c}); err != nil {
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return nil
}

// writeAtomic writes what wt writes to path via a temporary file in the
// same directory and a rename. The file gets mode 0644.
func writeAtomic(path string, wt io.WriterTo) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = wt.WriteTo(f)
	err = errors.Join(err, f.Chmod(0o644), f.Close())
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}
