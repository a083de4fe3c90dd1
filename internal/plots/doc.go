// Package plots draws metagon's figures as PNG files with gonum.org/v1/plot:
// learning curves, sinusoid regression fits in the style of Finn et al.
// 2017, Fig. 2, and few-shot episodes as grids of captioned images.
//
// Figures are meant to be read at a glance: titles wrap to the figure's
// width (a first line as heading, further lines as a smaller subtitle),
// legends sit under the axes where they cover no data, tick labels are
// round numbers, and a log axis says so in its label.
//
// Every function writes its file atomically (a temporary file renamed into
// place), returns an error wrapped with the path rather than panicking, and
// leaves NaN and infinite points out of curves so a diverged run can still
// be plotted.
//
//	err := plots.LearningCurve("loss.png",
//		plots.CurveOptions{Title: "MAML, sinusoid K=10", XLabel: "meta-iteration", YLabel: "query MSE", LogY: true},
//		plots.Series{Label: "meta-train", X: iters, Y: trainLoss},
//		plots.Series{Label: "meta-val", X: evalIters, Y: valLoss},
//	)
//
//	err = plots.SinusoidFits("fits.png", "MAML on 5-shot sinusoid", []plots.FitPanel{{
//		Title:    "MAML, K=5",
//		X:        grid,
//		True:     truth,
//		SupportX: task.SupportX,
//		SupportY: task.SupportY,
//		Fits: []plots.Series{
//			{Label: "pre-update", Y: pred0},
//			{Label: "1 grad step", Y: pred1},
//			{Label: "10 grad steps", Y: pred10},
//		},
//	}})
//
//	err = plots.Episode("episode.png", "5-way 1-shot\nsupport set, then queries", [][]plots.Cell{
//		{{Pixels: img, W: 28, H: 28, Caption: "class 3"}},
//		{{Pixels: q, W: 28, H: 28, Caption: "pred 3", Border: plots.Green},
//			{Pixels: q2, W: 28, H: 28, Caption: "wrong: 3 (true 1)", CaptionColor: plots.Red, Border: plots.Red}},
//	})
package plots
