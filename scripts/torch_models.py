"""metagon's models as PyTorch modules, for moving weights between the two.

The state_dict of each module holds exactly the entries that the Go model's
TorchParams lists (models/torch.go), in PyTorch's layouts, so that weights
exported by models.SaveTorchNPZ load with strict=True and a state_dict
saved with save_npz loads with models.LoadTorchNPZ:

    m = Conv4(in_channels=1, filters=64, classes=5)
    m.load_state_dict(load_npz("weights.npz"), strict=True)
    save_npz(m, "weights.npz")

Conv4 is metagon's Conv-4: four blocks of a 3×3 convolution without bias
(padding 1), batch norm that always normalises with the batch's own
statistics (track_running_stats=False, eps 1e-5, as metagon's does at
training and test time), ReLU and 2×2 max-pool, then an optional linear
head on the flattened features. MLP is metagon's MLP: nn.Linear layers with
an activation after each but the last, and an optional one after the last.
"""
import numpy as np
import torch
from torch import nn

ACTIVATIONS = {"relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh, "": None, None: None}


class Block(nn.Module):
    """One Conv-4 block: conv (no bias), batch norm, ReLU, 2×2 max-pool
    (without pool=False, the block keeps its input's height and width)."""

    def __init__(self, in_channels, filters, pool=True):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, filters, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(filters, eps=1e-5, track_running_stats=False)
        self.pool = nn.MaxPool2d(2) if pool else nn.Identity()

    def forward(self, x):
        return self.pool(torch.relu(self.bn(self.conv(x))))


class Conv4(nn.Module):
    """metagon's models.Conv4. height and width give the input size; they
    are needed for the head's width only (features = filters·(h/16)·(w/16),
    rounded down at each pooling). With classes = 0 there is no head and the
    output is the flattened features (Prototypical Networks' embedding).
    pools is the number of leading blocks that max-pool (models.Conv4's
    Pools; 2 is Relation Networks' embedding); it adds no parameters."""

    def __init__(self, in_channels, filters, classes, height=28, width=28, pools=4):
        super().__init__()
        self.blocks = nn.ModuleList(
            [Block(in_channels if i == 0 else filters, filters, pool=i < pools) for i in range(4)])
        h, w = height, width
        for _ in range(pools):
            h, w = h // 2, w // 2
        self.fc = nn.Linear(filters * h * w, classes) if classes > 0 else None

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        x = x.flatten(1)
        return self.fc(x) if self.fc is not None else x


class MLP(nn.Module):
    """metagon's models.MLP: sizes lists the widths, input first;
    activation ("relu", "sigmoid", "tanh" or "") follows every layer but the
    last, output (the same choices) the last one. With batch_norm
    (models.MLP's BatchNorm) every hidden layer is a linear map without
    bias, then batch norm with the batch's own statistics
    (track_running_stats=False, eps 1e-5), then the activation."""

    def __init__(self, sizes, activation, output="", batch_norm=False):
        super().__init__()
        last = len(sizes) - 2
        self.layers = nn.ModuleList(
            [nn.Linear(a, b, bias=not batch_norm or i == last) for i, (a, b) in enumerate(zip(sizes, sizes[1:]))])
        self.norms = nn.ModuleList(
            [nn.BatchNorm1d(b, eps=1e-5, track_running_stats=False) for b in sizes[1:-1]]) if batch_norm else None
        self.activation, self.output = ACTIVATIONS[activation], ACTIVATIONS[output]

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            hidden = i + 1 < len(self.layers)
            if hidden and self.norms is not None:
                x = self.norms[i](x)
            act = self.activation if hidden else self.output
            if act is not None:
                x = act(x)
        return x


def load_npz(path):
    """Returns the arrays of the .npz at path as a state_dict of tensors."""
    with np.load(path) as z:
        return {k: torch.from_numpy(z[k].copy()) for k in z.files}


def save_npz(module, path):
    """Writes module's state_dict to path as .npz, one array per entry."""
    np.savez(path, **{k: v.detach().cpu().numpy() for k, v in module.state_dict().items()})
