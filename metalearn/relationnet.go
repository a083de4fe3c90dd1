package metalearn

import (
	"fmt"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
)

// RelationNet is Relation Networks (Sung, Yang, Zhang, Xiang, Torr &
// Hospedales, "Learning to Compare: Relation Network for Few-Shot
// Learning", CVPR 2018). An embedding module f maps every image to
// feature maps (Conv-4 with only its first two blocks pooling: 64 maps of
// 7×7 for Omniglot); the feature maps of each class's K support images
// are summed, and a relation module g scores every query against every
// class from the two maps concatenated in depth, C(·, ·):
//
//	r_{q,c} = g(C(Σ_{i: yᵢ = c} f(xᵢ), f(x_q))) ∈ (0, 1)
//
// Meta-training regresses the scores on the one-hot query labels,
// minimising the mean squared error Σ_{q,c} (r_{q,c} − 1[y_q = c])² /
// (Q·N) of one episode per step with Adam (lr 1e-3, halved every 100,000
// episodes, as in the paper; a meta-batch of several takes one step on
// their mean gradient); a query is classified by its highest score.
// The relation module is models.Relation; its weights are
// meta-parameters after the embedding's. Everything else — the episode
// graphs, batch norm over the whole episode, Adam, evaluation — is
// Metric's: RelationNet is its head. The authors' code also clips each
// network's gradient norm to 0.5; Metric does not.
type RelationNet struct {
	*Metric
}

// RelationNetOptions configures RelationNet. MetricOptions.LRHalvingEvery
// defaults to the paper's 100,000 episodes here.
type RelationNetOptions struct {
	MetricOptions
	// Filters is the number of filters of the relation module's blocks.
	// If zero, a default of 64 is used.
	Filters int
	// Hidden is the width of the relation module's hidden layer. If zero,
	// a default of 8 is used.
	Hidden int
}

// NewRelationNet returns a Relation Network over embedding model m, which
// must give feature maps (models.Spatial: e.g. Conv-4 with Pools 2 and no
// head) large enough for the relation module's two poolings.
func NewRelationNet(m models.Model, o RelationNetOptions) (*RelationNet, error) {
	if o.LRHalvingEvery == 0 {
		o.LRHalvingEvery = 100000
	}
	if o.Filters < 0 || o.Hidden < 0 {
		return nil, fmt.Errorf("relationnet: relation module with %d filters and %d hidden units", o.Filters, o.Hidden)
	}
	l, err := NewMetric("relationnet", m, &relationHead{filters: o.Filters, hidden: o.Hidden}, o.MetricOptions)
	if err != nil {
		return nil, err
	}
	return &RelationNet{Metric: l}, nil
}

// Module returns the relation module g.
func (l *RelationNet) Module() *models.Relation { return l.head.(*relationHead).module }

// relationHead scores queries against classes with a relation module.
type relationHead struct {
	filters, hidden int
	module          *models.Relation
}

// Init shapes the relation module for m's feature maps and adds its
// weights.
func (h *relationHead) Init(p *graph.Params, m models.Model, seed uint64) error {
	s, ok := m.(models.Spatial)
	if !ok {
		return fmt.Errorf("the relation module compares feature maps: model %s has none (use conv4, which the registered learner asks for with 2 pooling blocks)", m.Name())
	}
	fs := s.FeatureShape()
	if len(fs) != 3 || graph.Size(fs) != m.OutputSize() {
		return fmt.Errorf("model %s: output of width %d is not its feature maps %v (is there a classifier head?)", m.Name(), m.OutputSize(), fs)
	}
	h.module = &models.Relation{Channels: fs[0], Height: fs[1], Width: fs[2], Filters: h.filters, Hidden: h.hidden}
	return h.module.Init(p, seed)
}

// Episode sums each class's support feature maps (the 0/1 class matrix
// times the support embeddings), scores every (query, class) pair and
// returns the scores' squared error against the one-hot labels; the
// scores are the logits.
func (h *relationHead) Episode(w graph.Weights, e *Episode) (loss, logits *G.Node) {
	classes := graph.MatMul(e.OneHot(), e.Support)
	scores := h.module.Scores(w, classes, e.Query)
	return graph.MSE(scores, e.LabelsOneHot()), scores
}

// Describe names the classifier, for Metric.Describe.
func (h *relationHead) Describe() string {
	return "highest relation score to a class's summed feature maps"
}
