// Package models holds functional networks built on package graph.
//
// A model is a function of (weights, input): Init adds its parameters to a
// parameter set, and Forward builds the output from any Weights with the
// same names. The weights may be the trainable leaves themselves or any
// expression of them, which is what MAML needs: the same Forward runs on the
// adapted weights θ − α∇L(θ) inside the meta-gradient graph.
//
//	g := gorgonia.NewGraph()
//	m, _ := models.New("mlp", models.Spec{})  // 784-100-10 ReLU; Spec sets shapes and options
//	p := graph.NewParams(g, tensor.Float64)
//	_ = m.Init(p, 1)                          // seeded
//	x := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(32, 784), gorgonia.WithName("x"))
//	logits := m.Forward(p.Weights(), x)       // (32, 10)
//
// Models are looked up by name (New, Names) so that the command-line tools
// can offer every registered model.
//
// Parts that are not models by themselves follow the same pattern: an
// LSTMCell (PyTorch's nn.LSTMCell, layout and gate order included) adds its
// weights with Init and builds a step from any Weights with Step, for
// learners that need a recurrent network (Matching Networks' full context
// embeddings). Relation, the relation module of Relation Networks, is a
// Model on pairs of feature maps (Conv4 with Pools = 2 gives them, Spatial
// their shape) whose Scores compares every query with every class.
//
// A Stepped model's forward pass can depend on the inner-loop step:
// Conv4 with PerStep (StepNorm) keeps MAML++'s per-step batch-norm weights
// and running statistics (Antoniou et al. 2019), and ForwardStep builds
// step s's pass in training mode (batch statistics, recorded for the
// running averages) or evaluation mode (the running statistics, which a
// learner holds in RunningStats). Spec.PerStep asks a registered model for
// it.
//
// MLP and Conv4 are Stochastic: with a Dropout rate, ForwardTrain builds
// the training-mode pass with dropout masks (Masks, drawn per step from the
// trainer's seed and the step number), and Forward stays evaluation mode.
// Trainer trains with ForwardTrain, and GradNorms reports each parameter's
// gradient norm after a step.
//
// Conv4 and MLP have PyTorch equivalents (TorchNamer; the modules are in
// scripts/torch_models.py): SaveTorchNPZ and LoadTorchNPZ move their weights
// to and from .npz archives keyed by state_dict names in PyTorch's layouts.
package models
