"""
One EDM2 MP-UNet training step on PyTorch's CPU build, for `npm run bench -- --train`: the yardstick
our native TensorFlow step is measured against (issue 14). Written from the project's network
description (magnitude-preserving layers, UNet topology, Precond, EDM2 loss, Adam, power-function
EMA); the layout is PyTorch's NCHW / OIHW. Prints one JSON line.

  python3 test/bench/torch-step.py [--config small16|tiny] [--batch 32] [--repeats 10] [--threads N]

What one step is, as in test/bench/train-step.ts: forced weight normalisation, forward, backward,
non-finite gradients zeroed, Adam (0.9, 0.99, 1e-8), both EMA updates (sigma_rel 0.05 and 0.10).
"""
import argparse
import json
import math
import os
import time

import torch
import torch.nn.functional as F

CONFIGS = {
    # resolution, channels, model_channels, channel_mult, num_blocks, attn_resolutions, channels_per_head, logvar_channels
    'small16': dict(res=16, ch=3, mc=24, mult=[1, 2], blocks=1, attn=[8], cph=48, logvar=128, params=407155),
    'tiny': dict(res=8, ch=3, mc=8, mult=[1, 2], blocks=1, attn=[4], cph=8, logvar=16, params=None),
}


def normalize(x, dims, eps=1e-4):
    count = 1
    for d in dims:
        count *= x.shape[d]
    norm = torch.linalg.vector_norm(x, dim=dims, keepdim=True, dtype=torch.float32)
    return x / (eps + norm / math.sqrt(count))


def mp_silu(x):
    return F.silu(x) / 0.596


def mp_sum(a, b, t):
    return ((1 - t) * a + t * b) / math.sqrt((1 - t) ** 2 + t ** 2)


def mp_cat(a, b, t):
    na, nb = a.shape[1], b.shape[1]
    k = math.sqrt((na + nb) / ((1 - t) ** 2 + t ** 2))
    return torch.cat([a * (k * (1 - t) / math.sqrt(na)), b * (k * t / math.sqrt(nb))], dim=1)


class Fourier(torch.nn.Module):
    def __init__(self, n):
        super().__init__()
        self.register_buffer('freqs', 2 * math.pi * torch.randn(n))
        self.register_buffer('phases', 2 * math.pi * torch.rand(n))

    def forward(self, s):
        return math.sqrt(2) * torch.cos(torch.outer(s, self.freqs) + self.phases)


class Conv(torch.nn.Module):
    """Convolution (k x k, 'same') or linear layer (kernel None) with forced weight normalisation."""

    def __init__(self, cin, cout, kernel=None):
        super().__init__()
        shape = [cout, cin] + ([kernel, kernel] if kernel else [])
        self.weight = torch.nn.Parameter(torch.randn(shape))

    def fan_dims(self):
        return tuple(range(1, self.weight.ndim))

    def forward(self, x, gain=1):
        fan_in = self.weight[0].numel()
        w = normalize(self.weight, self.fan_dims()) * (gain / math.sqrt(fan_in))
        if w.ndim == 2:
            return x @ w.t()
        return F.conv2d(x, w, padding=w.shape[-1] // 2)

    @torch.no_grad()
    def renormalize(self):
        self.weight.copy_(normalize(self.weight, self.fan_dims()))


class Block(torch.nn.Module):
    def __init__(self, cin, cout, cemb, decoder, resample, attention, cph):
        super().__init__()
        self.decoder, self.resample = decoder, resample
        self.heads = cout // cph if attention else 0
        self.emb_gain = torch.nn.Parameter(torch.zeros([]))
        self.conv_res0 = Conv(cin if decoder else cout, cout, 3)
        self.emb_linear = Conv(cemb, cout)
        self.conv_res1 = Conv(cout, cout, 3)
        self.conv_skip = Conv(cin, cout, 1) if cin != cout else None
        if self.heads > 0:
            self.attn_qkv = Conv(cout, cout * 3, 1)
            self.attn_proj = Conv(cout, cout, 1)

    def forward(self, x, emb):
        if self.resample == 'down':
            x = F.avg_pool2d(x, 2)
        elif self.resample == 'up':
            x = F.interpolate(x, scale_factor=2, mode='nearest')
        if not self.decoder:
            if self.conv_skip is not None:
                x = self.conv_skip(x)
            x = normalize(x, (1,))
        y = self.conv_res0(mp_silu(x))
        c = self.emb_linear(emb, gain=self.emb_gain) + 1
        y = mp_silu(y * c[:, :, None, None])
        y = self.conv_res1(y)
        if self.decoder and self.conv_skip is not None:
            x = self.conv_skip(x)
        x = mp_sum(x, y, 0.3)
        if self.heads > 0:
            n, ch, h, w = x.shape
            per = ch // self.heads
            # Channel o of qkv is (head * per + c) * 3 + s, s = 0, 1, 2 for q, k, v.
            qkv = normalize(self.attn_qkv(x).reshape(n, self.heads, per, 3, h * w), (2,))
            q, k, v = qkv.unbind(3)
            a = torch.softmax(torch.einsum('nhcp,nhcq->nhpq', q, k) / math.sqrt(per), dim=3)
            out = torch.einsum('nhpq,nhcq->nhcp', a, v).reshape(n, ch, h, w)
            x = mp_sum(x, self.attn_proj(out), 0.3)
        return x.clip(-256, 256)


class UNet(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        cblock = [cfg['mc'] * m for m in cfg['mult']]
        cnoise, cemb = cblock[0], max(cblock)
        self.out_gain = torch.nn.Parameter(torch.zeros([]))
        self.emb_fourier = Fourier(cnoise)
        self.emb_noise = Conv(cnoise, cemb)
        self.enc = torch.nn.ModuleDict()
        cout = cfg['ch'] + 1
        skips = []
        for level, channels in enumerate(cblock):
            res = cfg['res'] >> level
            if level == 0:
                self.enc[f'{res}x{res}_conv'] = Conv(cout, channels, 3)
                cout = channels
            else:
                self.enc[f'{res}x{res}_down'] = Block(cout, cout, cemb, False, 'down', False, cfg['cph'])
            skips.append(cout)
            for i in range(cfg['blocks']):
                self.enc[f'{res}x{res}_block{i}'] = Block(cout, channels, cemb, False, 'keep', res in cfg['attn'], cfg['cph'])
                cout = channels
                skips.append(cout)
        self.dec = torch.nn.ModuleDict()
        for level in reversed(range(len(cblock))):
            res = cfg['res'] >> level
            if level == len(cblock) - 1:
                self.dec[f'{res}x{res}_in0'] = Block(cout, cout, cemb, True, 'keep', True, cfg['cph'])
                self.dec[f'{res}x{res}_in1'] = Block(cout, cout, cemb, True, 'keep', False, cfg['cph'])
            else:
                self.dec[f'{res}x{res}_up'] = Block(cout, cout, cemb, True, 'up', False, cfg['cph'])
            for i in range(cfg['blocks'] + 1):
                cin = cout + skips.pop()
                self.dec[f'{res}x{res}_block{i}'] = Block(cin, cblock[level], cemb, True, 'keep', res in cfg['attn'], cfg['cph'])
                cout = cblock[level]
        self.out_conv = Conv(cout, cfg['ch'], 3)

    def forward(self, x, c_noise):
        emb = mp_silu(self.emb_noise(self.emb_fourier(c_noise)))
        x = torch.cat([x, torch.ones_like(x[:, :1])], dim=1)
        skips = []
        for name, module in self.enc.items():
            x = module(x) if name.endswith('_conv') else module(x, emb)
            skips.append(x)
        for name, module in self.dec.items():
            if 'block' in name:
                x = mp_cat(x, skips.pop(), 0.5)
            x = module(x, emb)
        return self.out_conv(x, gain=self.out_gain)


class Precond(torch.nn.Module):
    def __init__(self, cfg, sigma_data=0.5):
        super().__init__()
        self.sigma_data = sigma_data
        self.unet = UNet(cfg)
        self.logvar_fourier = Fourier(cfg['logvar'])
        self.logvar_linear = Conv(cfg['logvar'], 1)

    def forward(self, x, sigma):
        sd = self.sigma_data
        s = sigma.reshape(-1, 1, 1, 1)
        c_skip = sd ** 2 / (s ** 2 + sd ** 2)
        c_out = s * sd / (s ** 2 + sd ** 2).sqrt()
        c_in = 1 / (s ** 2 + sd ** 2).sqrt()
        c_noise = sigma.log() / 4
        d = c_skip * x + c_out * self.unet(c_in * x, c_noise)
        logvar = self.logvar_linear(self.logvar_fourier(c_noise)).reshape(-1, 1, 1, 1)
        return d, logvar


def edm2_loss(net, y, sigma, noise, sigma_data=0.5):
    s = sigma.reshape(-1, 1, 1, 1)
    weight = (s ** 2 + sigma_data ** 2) / (s * sigma_data) ** 2
    d, logvar = net(y + s * noise, sigma)
    return (weight / logvar.exp() * (d - y) ** 2 + logvar).sum() / y.shape[0]


def ema_gamma(sigma_rel):
    # Largest real root of g^3 + 7 g^2 + (16 - s^-2) g + (12 - s^-2), by bisection.
    lo, hi = -0.9, 1e4
    f = lambda g: g ** 3 + 7 * g ** 2 + (16 - sigma_rel ** -2) * g + (12 - sigma_rel ** -2)
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) < 0 else (lo, mid)
    return (lo + hi) / 2


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--config', default='small16', choices=sorted(CONFIGS))
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    cfg = CONFIGS[args.config]
    net = Precond(cfg)
    count = sum(p.numel() for p in net.parameters())
    if cfg['params'] is not None and count != cfg['params']:
        raise SystemExit(f'{args.config} has {count} parameters, expected {cfg["params"]}')
    params = list(net.parameters())
    convs = [m for m in net.modules() if isinstance(m, Conv)]
    adam = torch.optim.Adam(params, lr=1e-4, betas=(0.9, 0.99), eps=1e-8)
    emas = [(ema_gamma(s), [p.detach().clone() for p in params]) for s in (0.05, 0.10)]
    r, b = cfg['res'], args.batch
    y = torch.randn(b, cfg['ch'], r, r) * 0.5
    noise = torch.randn(b, cfg['ch'], r, r)
    sigma = (torch.randn(b) * 1.6 - 0.8).exp()
    nimg = 0

    def step():
        nonlocal nimg
        for m in convs:
            m.renormalize()
        adam.zero_grad(set_to_none=True)
        loss = edm2_loss(net, y, sigma, noise)
        loss.backward()
        for p in params:
            torch.nan_to_num_(p.grad, nan=0, posinf=0, neginf=0)
        adam.step()
        nimg += b
        with torch.no_grad():
            for gamma, copy in emas:
                beta = (1 - b / nimg) ** (gamma + 1)
                for e, p in zip(copy, params):
                    e.lerp_(p, 1 - beta)
        return loss.item()

    step()
    times, cpu = [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        step()
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    times_sorted, cpu_sorted = sorted(times), sorted(cpu)
    median = lambda v: (v[(len(v) - 1) // 2] + v[len(v) // 2]) / 2
    print(json.dumps({
        'backend': f'pytorch {torch.__version__}', 'config': args.config, 'batch': b, 'threads': torch.get_num_threads(),
        'medianMs': median(times_sorted), 'minMs': times_sorted[0], 'cpuMs': median(cpu_sorted), 'repeats': args.repeats,
        'parameters': count,
    }))


if __name__ == '__main__':
    main()
