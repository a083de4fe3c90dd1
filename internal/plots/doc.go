// Package plots draws metagon's figures as PNG files with gonum.org/v1/plot:
// learning curves, sinusoid regression fits in the style of Finn et al.
// 2017, Fig. 2, and few-shot episodes as grids of captioned images.
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
//	err = plots.SinusoidFits("fits.png", []plots.FitPanel{{
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
//	err = plots.Episode("episode.png", "5-way 1-shot", [][]plots.Cell{
//		{{Pixels: img, W: 28, H: 28, Caption: "class 3"}},
//		{{Pixels: q, W: 28, H: 28, Caption: "pred 3", Border: plots.Green}},
//	})
package plots
