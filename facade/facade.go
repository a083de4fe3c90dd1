package facade

import (
	"fmt"
	"math"
	"time"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/metalearn"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// CubeDerivatives returns x³ and its first, second and third derivatives
// at x (3x², 6x and 6), each computed by differentiating the previous
// derivative's graph with graph.Grad: d[0] = x³, d[1] = 3x², d[2] = 6x,
// d[3] = 6.
func CubeDerivatives(x float64) (d []float64, err error) {
	defer graph.Recover(&err)
	g := G.NewGraph()
	xn := G.NewScalar(g, tensor.Float64, G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithBacking([]float64{x}), tensor.WithShape())))
	nodes := []*G.Node{graph.Mul(graph.Mul(xn, xn), xn)}
	for order := 1; order <= 3; order++ {
		grads, err := graph.Grad(nodes[order-1], xn)
		if err != nil {
			return nil, fmt.Errorf("derivative %d: %w", order, err)
		}
		nodes = append(nodes, grads[0])
	}
	run, err := graph.NewRunner(nodes...)
	if err != nil {
		return nil, err
	}
	if err := run.Run(); err != nil {
		return nil, err
	}
	for _, n := range nodes {
		d = append(d, run.Scalar(n))
	}
	return d, nil
}

// GradientCheck is the outcome of CheckTanhLayer.
type GradientCheck struct {
	// Checked counts the gradient entries compared.
	Checked int
	// MaxRelErr is the largest relative error between the analytic
	// gradient (graph.Grad) and central finite differences.
	MaxRelErr float64
	// Worst names the entry with the largest error.
	Worst string
	// SecondOrderMaxRelErr is the same comparison for a second derivative:
	// the gradient of Σ v ⊙ ∂loss/∂w with respect to w.
	SecondOrderMaxRelErr float64
}

// CheckTanhLayer builds loss = Σ tanh(x·w) for a random 5×4 input x and a
// 4×3 weight w drawn from N(0, 1) with the given seed, and compares its
// gradient and a Hessian-vector product with central finite differences
// (graph.CheckGradient). Both errors are around 1e-9 when the derivative
// rules are right.
func CheckTanhLayer(seed uint64) (res *GradientCheck, err error) {
	defer graph.Recover(&err)
	g := G.NewGraph()
	p := graph.NewParams(g, tensor.Float64)
	w, err := p.Add("w", []int{4, 3}, graph.Normal{Std: 1, Seed: seed})
	if err != nil {
		return nil, err
	}
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(5, 4), G.WithName("x"))
	v := G.NewMatrix(g, tensor.Float64, G.WithShape(4, 3), G.WithName("v"))
	loss := graph.Sum(graph.Tanh(graph.MatMul(x, w)))
	xs, vs := make([]float64, 20), make([]float64, 12)
	for i := range xs {
		xs[i] = math.Sin(float64(i+1) + float64(seed))
	}
	for i := range vs {
		vs[i] = math.Cos(float64(3*i+1) + float64(seed))
	}
	first, err := graph.CheckGradient(loss, []*G.Node{w}, graph.CheckOptions{Feeds: map[*G.Node][]float64{x: xs}})
	if err != nil {
		return nil, err
	}
	grads, err := graph.Grad(loss, w)
	if err != nil {
		return nil, err
	}
	second, err := graph.CheckGradient(graph.Sum(graph.Mul(grads[0], v)), []*G.Node{w}, graph.CheckOptions{Feeds: map[*G.Node][]float64{x: xs, v: vs}})
	if err != nil {
		return nil, err
	}
	return &GradientCheck{Checked: first.Checked, MaxRelErr: first.MaxRelErr, Worst: first.Worst,
		SecondOrderMaxRelErr: second.MaxRelErr}, nil
}

// TrainResult is the outcome of TrainSeedNetwork.
type TrainResult struct {
	// Accuracy is the fraction of the 10,000 MNIST test images classified
	// correctly after training.
	Accuracy float64
	// Losses holds the mean training loss of each run of 500 steps (5,000
	// images), in order: the loss curve.
	Losses []float64
	// Steps counts the optimizer steps taken.
	Steps int
	// Seconds is the wall time of training and evaluation (not loading).
	Seconds float64
}

// TrainSeedNetwork trains the classic 784-30-10 sigmoid network (N(0, 1)
// initialisation, quadratic cost, SGD with learning rate 3, batches of 10)
// on MNIST for the given number of epochs and returns its test accuracy
// and loss curve. mnistDir holds the four idx files (gzipped or not); if it
// is "", it is found like the tools do ($MNIST_DIR, $METAGON_DATA/mnist,
// then the download script's default). seed draws the initial weights and
// the batch order; seed 14 reaches about 90.8% after one epoch (a few
// seeds saturate at about 82%).
func TrainSeedNetwork(mnistDir string, epochs int, seed uint64) (*TrainResult, error) {
	if epochs < 1 {
		return nil, fmt.Errorf("epochs is %d, want at least 1", epochs)
	}
	dir, err := data.FindMNISTDir(mnistDir)
	if err != nil {
		return nil, err
	}
	train, err := data.LoadMNIST(dir, "train")
	if err != nil {
		return nil, err
	}
	test, err := data.LoadMNIST(dir, "t10k")
	if err != nil {
		return nil, err
	}
	start := time.Now()
	tr, err := models.NewTrainer(models.SeedNetwork(), graph.NewSGD(3.0),
		models.TrainerOptions{Loss: models.QuadraticLoss, Seed: seed})
	if err != nil {
		return nil, err
	}
	const batch, window = 10, 500
	in := train.Rows * train.Cols
	b := data.NewBatcher(train.Len(), batch, int64(seed))
	x, y := make([]float64, batch*in), make([]float64, batch)
	res := &TrainResult{}
	sum, n := 0.0, 0
	for e := 0; e < epochs; e++ {
		for _, idx := range b.Epoch() {
			train.FillBatch(idx, x[:len(idx)*in], y[:len(idx)])
			loss, err := tr.Step(x[:len(idx)*in], y[:len(idx)])
			if err != nil {
				return nil, err
			}
			sum, n = sum+loss, n+1
			if n == window {
				res.Losses = append(res.Losses, sum/window)
				sum, n = 0, 0
			}
		}
	}
	if n > 0 {
		res.Losses = append(res.Losses, sum/float64(n))
	}
	res.Steps = int(tr.Steps)
	if res.Accuracy, err = tr.Accuracy(test, 1000); err != nil {
		return nil, err
	}
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// SinusoidAlgorithms lists the algorithms MetaTrainSinusoid accepts: the
// registered learners that adapt a regression model by inner steps (all
// but the metric learners and MANN, which classify, and CNP, which has
// no inner loop; cmd/meta runs CNP on sinusoids).
var SinusoidAlgorithms = sinusoidAlgorithms()

func sinusoidAlgorithms() []string {
	var names []string
	for _, n := range metalearn.Learners() {
		if e, _ := metalearn.LookupLearner(n); !e.Embedding && !e.NoInnerLoop {
			names = append(names, n)
		}
	}
	return names
}

// SinusoidResult is the outcome of MetaTrainSinusoid: the paper-style
// evaluation on 600 held-out tasks and the fits on one of them.
type SinusoidResult struct {
	// Algorithm and Iterations echo the arguments.
	Algorithm  string
	Iterations int
	// PreMSE, PostMSE and Post10MSE are the mean query MSE over the
	// held-out tasks before adaptation, after 1 and after 10 inner steps;
	// the CI fields are the half-widths of their 95% confidence intervals.
	PreMSE, PostMSE, Post10MSE float64
	PreCI, PostCI, Post10CI    float64
	// Table is the evaluation as a Markdown table (0, 1 and 10 steps).
	Table string
	// MetaLosses holds the mean meta-training query loss of each run of
	// 100 meta-iterations: the learning curve.
	MetaLosses []float64
	// Seconds is the wall time of meta-training and evaluation.
	Seconds float64

	// One held-out task, y = Amplitude·sin(x − Phase): its K = 10 support
	// points, and on the grid X (200 points in [−5, 5]) the true function
	// and the model's predictions before adaptation and after 1 and 10
	// inner steps on the support points.
	Amplitude, Phase   float64
	SupportX, SupportY []float64
	X, True            []float64
	Pre, Post, Post10  []float64
}

// MetaTrainSinusoid meta-trains a learner on 10-shot sinusoid regression
// (Finn et al. 2017, §5.1: the 1-40-40-1 ReLU network, meta-batch 25, Adam
// 1e-3, inner rate 0.01, one inner step) for the given number of
// iterations, then evaluates it on 600 held-out tasks. algorithm is one of
// SinusoidAlgorithms; reptile uses its own setting (5 inner SGD steps,
// outer step 0.1 annealed, PyTorch-default initialisation). A few thousand
// iterations take seconds; 70,000 reproduce the paper.
func MetaTrainSinusoid(algorithm string, iterations int, seed uint64) (res *SinusoidResult, err error) {
	defer graph.Recover(&err)
	if iterations < 0 {
		return nil, fmt.Errorf("iterations is %d, want at least 0", iterations)
	}
	const evalTasks = 600
	if e, err := metalearn.LookupLearner(algorithm); err == nil && e.NoInnerLoop {
		return nil, fmt.Errorf("%s has no inner loop, and MetaTrainSinusoid reports 0, 1 and 10 inner steps (run it with metalearn.Setup or cmd/meta)", algorithm)
	}
	l, src, cfg, err := registered(algorithm, "sinusoid", metalearn.Settings{}, "", seed)
	if err != nil {
		return nil, err
	}
	cfg.Iterations = iterations
	start := time.Now()
	res = &SinusoidResult{Algorithm: algorithm, Iterations: iterations}
	sum, n := 0.0, 0
	for it := 0; it < iterations; it++ {
		st, err := l.MetaStep(src.Train(it, cfg.MetaBatch))
		if err != nil {
			return nil, fmt.Errorf("iteration %d: %w", it, err)
		}
		sum, n = sum+st.Loss, n+1
		if n == 100 {
			res.MetaLosses = append(res.MetaLosses, sum/100)
			sum, n = 0, 0
		}
	}
	ev, err := metalearn.Evaluate(l, src.Test(evalTasks), 10)
	if err != nil {
		return nil, err
	}
	res.PreMSE, res.PreCI = ev.Loss[0].Mean, ev.Loss[0].CI95
	res.PostMSE, res.PostCI = ev.Loss[1].Mean, ev.Loss[1].CI95
	res.Post10MSE, res.Post10CI = ev.Loss[10].Mean, ev.Loss[10].CI95
	res.Table = ev.Table(0, 1, 10)

	// one held-out task beyond the evaluated ones
	t := data.SinusoidTaskAt(metalearn.SourceConfig{Seed: seed}.Stream(metalearn.TestStream), evalTasks, cfg.Shots, 0, data.SinusoidOptions{})
	res.Amplitude, res.Phase, res.SupportX, res.SupportY = t.Amplitude, t.Phase, t.SupportX, t.SupportY
	const grid = 200
	for i := 0; i < grid; i++ {
		x := -5 + 10*float64(i)/float64(grid-1)
		res.X, res.True = append(res.X, x), append(res.True, t.F(x))
	}
	fit, err := l.Adapt([]metalearn.Task{{SupportX: t.SupportX, SupportY: t.SupportY, QueryX: res.X, QueryY: res.True}}, 10)
	if err != nil {
		return nil, err
	}
	res.Pre, res.Post, res.Post10 = fit[0].Outputs[0], fit[0].Outputs[1], fit[0].Outputs[10]
	res.Seconds = time.Since(start).Seconds()
	return res, nil
}

// ProtoNetOmniglot meta-trains a Prototypical Network (Snell et al. 2017;
// Conv-4 embedding with 64 filters, Adam 1e-3, float32) on the given number
// of 30-way 1-shot 5-query episodes of Omniglot's background characters
// (with rotations), then returns its mean accuracy on 200 5-way 1-shot
// 15-query episodes of the evaluation characters (alphabets never seen in
// training) and the half-width of its 95% confidence interval. dir holds
// images_background.zip and images_evaluation.zip; if it is "", it is
// found like the tools do ($OMNIGLOT_DIR, $METAGON_DATA/omniglot, then the
// download script's default). The decoded images are cached in the user's
// cache directory, so only the first load takes seconds. 100 episodes
// take about 30 s on two cores and reach about 90%; chance is 20%.
func ProtoNetOmniglot(dir string, episodes int, seed uint64) (accuracy, ci float64, err error) {
	return protoNetOmniglot(dir, episodes, 200, seed)
}

// protoNetOmniglot is ProtoNetOmniglot with evalEpisodes test episodes.
func protoNetOmniglot(dir string, episodes, evalEpisodes int, seed uint64) (accuracy, ci float64, err error) {
	defer graph.Recover(&err)
	if episodes < 0 {
		return 0, 0, fmt.Errorf("episodes is %d, want at least 0", episodes)
	}
	l, src, _, err := registered("protonet", "omniglot", metalearn.Settings{TrainWays: 30, Queries: 5, Ways: 5, Shots: 1, EvalQueries: 15}, dir, seed)
	if err != nil {
		return 0, 0, err
	}
	for ep := 0; ep < episodes; ep++ {
		if _, err := l.MetaStep(src.Train(ep, 1)); err != nil {
			return 0, 0, fmt.Errorf("episode %d: %w", ep, err)
		}
	}
	ev, err := metalearn.Evaluate(l, src.Test(evalEpisodes), 0)
	if err != nil {
		return 0, 0, err
	}
	return ev.Accuracy[0].Mean, ev.Accuracy[0].CI95, nil
}

// registered builds the registered learner algorithm on the registered
// task source, with the settings the registry resolves for the pair
// (set overrides them): the same construction cmd/meta uses, so a facade
// run and a command-line run with the same seed see the same tasks.
func registered(algorithm, source string, set metalearn.Settings, dataDir string, seed uint64) (metalearn.Learner, metalearn.TaskSource, metalearn.Settings, error) {
	le, err := metalearn.LookupLearner(algorithm)
	if err != nil {
		return nil, nil, set, err
	}
	se, err := metalearn.LookupSource(source)
	if err != nil {
		return nil, nil, set, err
	}
	if le.Embedding && !se.Classification {
		return nil, nil, set, fmt.Errorf("%s classifies episodes: it does not run on %s", algorithm, source)
	}
	s := metalearn.Resolve(set, le, se, source)
	l, src, err := metalearn.Setup(metalearn.Run{Learner: algorithm, Source: source, Settings: s, DataDir: dataDir, Rotations: true, Seed: seed})
	return l, src, s, err
}
