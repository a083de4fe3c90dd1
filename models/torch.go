package models

import "fmt"

// TorchParam maps one metagon parameter to its PyTorch state_dict entry.
type TorchParam struct {
	// Name is the metagon parameter, e.g. "fc.w".
	Name string
	// Torch is the state_dict key, e.g. "fc.weight".
	Torch string
	// Transpose says that the two layouts are each other's transpose: a
	// metagon linear weight is (in, out), PyTorch's nn.Linear weight is
	// (out, in). Only two-dimensional parameters are transposed.
	Transpose bool
}

// TorchNamer is a Model whose weights have PyTorch equivalents: the module
// classes of scripts/torch_models.py, whose state_dict holds exactly the
// entries TorchParams lists. SaveTorchNPZ and LoadTorchNPZ use it.
type TorchNamer interface {
	Model
	// TorchParams lists every parameter of the model with its PyTorch
	// name and layout, in the model's parameter order.
	TorchParams() []TorchParam
}

// TorchParams maps Conv-4 to scripts/torch_models.py's Conv4: block i
// (0 to 3) has blocks.i.conv.weight (F, C, 3, 3), the same layout as
// metagon's conv{i+1}.w, and the batch norm's blocks.i.bn.weight and
// blocks.i.bn.bias, metagon's bn{i+1}.scale and bn{i+1}.shift. The head,
// when there is one, is fc.weight, the transpose of fc.w — PyTorch's
// (classes, features) — and fc.bias. The convolutions have no bias, and
// batch norm keeps no running statistics (track_running_stats=False), so
// the state_dict has no other entries. Pools changes no parameter: the
// module takes it as pools=. With per-step scales and shifts
// (PerStep.Weights), step k's are blocks.i.bn.weight.k and blocks.i.bn.bias.k
// (k from 1), entries scripts/torch_models.py's Conv4 does not have: the
// arrays round-trip through an .npz, and a PyTorch MAML++ stacks them per
// step (the paper's code keeps them as one (steps, F) tensor).
func (m *Conv4) TorchParams() []TorchParam {
	var ps []TorchParam
	for i := 1; i <= 4; i++ {
		block := fmt.Sprintf("blocks.%d.", i-1)
		ps = append(ps, TorchParam{Name: fmt.Sprintf("conv%d.w", i), Torch: block + "conv.weight"})
		for k := 0; k < max(m.PerStep.Steps, 1); k++ {
			if k > 0 && !m.PerStep.Weights {
				break
			}
			scale, shift := m.bnWeights(i, k)
			suffix := ""
			if m.PerStep.Weights {
				suffix = fmt.Sprintf(".%d", k+1)
			}
			ps = append(ps,
				TorchParam{Name: scale, Torch: block + "bn.weight" + suffix},
				TorchParam{Name: shift, Torch: block + "bn.bias" + suffix})
		}
	}
	if m.Classes > 0 {
		ps = append(ps,
			TorchParam{Name: "fc.w", Torch: "fc.weight", Transpose: true},
			TorchParam{Name: "fc.b", Torch: "fc.bias"})
	}
	return ps
}

// TorchParams maps an MLP to scripts/torch_models.py's MLP, whose layers
// are an nn.ModuleList of nn.Linear: metagon's w{i} (in, out) is
// layers.{i-1}.weight, stored (out, in), and b{i} is layers.{i-1}.bias.
// With BatchNorm (the module's batch_norm=True) the hidden layers have no
// bias, and bn{i}.scale and bn{i}.shift are norms.{i-1}.weight and
// norms.{i-1}.bias, of an nn.BatchNorm1d without running statistics.
func (m *MLP) TorchParams() []TorchParam {
	var ps []TorchParam
	for i := 1; i < len(m.Sizes); i++ {
		layer := fmt.Sprintf("layers.%d.", i-1)
		w, b := m.LayerNames(i)
		ps = append(ps, TorchParam{Name: w, Torch: layer + "weight", Transpose: true})
		if m.HasBias(i) {
			ps = append(ps, TorchParam{Name: b, Torch: layer + "bias"})
			continue
		}
		norm := fmt.Sprintf("norms.%d.", i-1)
		scale, shift := m.NormNames(i)
		ps = append(ps, TorchParam{Name: scale, Torch: norm + "weight"}, TorchParam{Name: shift, Torch: norm + "bias"})
	}
	return ps
}
