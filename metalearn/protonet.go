package metalearn

import (
	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
)

// ProtoNet is Prototypical Networks (Snell, Swersky & Zemel, "Prototypical
// Networks for Few-shot Learning", NeurIPS 2017). An embedding network f
// maps every image to a vector; each class's prototype is the mean
// embedding of its support images, and a query is classified by a softmax
// over its negative squared Euclidean distances to the prototypes:
//
//	p(y = c | x) ∝ exp(−‖f(x) − mean_{i: yᵢ = c} f(xᵢ)‖²)
//
// Meta-training minimises the query cross-entropy of one episode per step
// with Adam (a meta-batch of several: one step on their mean gradient);
// the learning rate is halved every LRHalvingEvery episodes (the
// schedule step:LRHalvingEvery:0.5, graph.StepDecay, unless
// Options.Schedule gives another).
// Support and query images go through the network as one batch, so batch
// norm uses the statistics of the whole episode (at test time too: there
// are no running statistics). ProtoNet does not adapt by gradient steps:
// Adapt reports a single entry per task. All of this but the prototypes
// is Metric's; ProtoNet is its head, protoHead.
type ProtoNet struct {
	*Metric
}

// ProtoNetOptions configures ProtoNet: MetricOptions, whose defaults are
// the paper's (Adam, lr 1e-3, halved every 2000 episodes).
type ProtoNetOptions = MetricOptions

// NewProtoNet returns a Prototypical Network over embedding model m (e.g.
// Conv-4 without a head).
func NewProtoNet(m models.Model, o ProtoNetOptions) (*ProtoNet, error) {
	l, err := NewMetric("protonet", m, protoHead{}, o)
	if err != nil {
		return nil, err
	}
	return &ProtoNet{Metric: l}, nil
}

// protoHead classifies by the distances to the class prototypes. It has no
// parameters of its own.
type protoHead struct{}

// Init adds nothing: the embedding is all ProtoNet learns.
func (protoHead) Init(*graph.Params, models.Model, uint64) error { return nil }

// Episode: prototypes = Average × support embeddings; logits = −squared
// distances of the queries to them; loss = their cross-entropy.
func (protoHead) Episode(_ graph.Weights, e *Episode) (loss, logits *G.Node) {
	protos := graph.MatMul(e.Average(), e.Support)
	logits = graph.Neg(graph.SquaredDistances(e.Query, protos))
	return graph.CrossEntropy(logits, e.Labels()), logits
}

// Describe names the classifier, for Metric.Describe.
func (protoHead) Describe() string { return "nearest class prototype" }
