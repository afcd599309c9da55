"""torch.optim.Adam's numbers for test/train-optim.test.ts (run with python3 + torch; prints JSON).

Three steps of torch.optim.Adam (betas 0.9, 0.99, eps 1e-8, float32 parameter, single-tensor path)
on five coordinates; NaN and +-Inf gradients are replaced by 0 first (EDM2's force_finite). The
test embeds the printed parameter and moments (exp_avg, exp_avg_sq) as they are.

    /usr/bin/python3 test/reference/adam-torch.py
"""
import json
import torch

START = [1, 1e-3, 0.5, -2, 0.25]
GRADS = [[0.1, 2e-8, float('nan'), float('-inf'), 0.7],
         [0.3, -1e-8, 1, -0.5, -0.7],
         [-0.2, 3e-8, float('inf'), 2, 0]]
LRS = [0.01, 0.02, 0.005]

p = torch.nn.Parameter(torch.tensor(START, dtype=torch.float32))
opt = torch.optim.Adam([p], lr=LRS[0], betas=(0.9, 0.99), eps=1e-8, foreach=False)
for grad, lr in zip(GRADS, LRS):
    for group in opt.param_groups:
        group['lr'] = lr
    p.grad = torch.nan_to_num(torch.tensor(grad, dtype=torch.float32), nan=0.0, posinf=0.0, neginf=0.0)
    opt.step()
state = opt.state[p]
print(json.dumps({'torch': torch.__version__, 'p': p.detach().tolist(), 'm': state['exp_avg'].tolist(), 'v': state['exp_avg_sq'].tolist()}))
