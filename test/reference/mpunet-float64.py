#!/usr/bin/env python3
# Independent float64 forward of the EDM2 MP-UNet (small16) in the official NCHW/OIHW layout, written
# from docs/MPUNET.md, used to get float64 directional derivatives of the loss by central differences.
import json, os, struct, sys
import numpy as np
f = open(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), 'mpunet-small16-reference.safetensors'), 'rb')
n = struct.unpack('<Q', f.read(8))[0]; h = json.loads(f.read(n)); base = 8 + n
T = {}
for k, v in h.items():
    if k == '__metadata__': continue
    f.seek(base + v['data_offsets'][0]); b = f.read(v['data_offsets'][1] - v['data_offsets'][0])
    T[k] = np.frombuffer(b, dtype=np.float32).reshape(v['shape']).astype(np.float64)
P = {k[6:]: v for k, v in T.items() if k.startswith('param/')}
B = {k[7:]: v for k, v in T.items() if k.startswith('buffer/')}
EPS = 1e-4
def normalize(x, axes):
    M = np.prod([x.shape[a] for a in axes])
    return x / (EPS + np.sqrt(np.sum(x * x, axis=axes, keepdims=True)) / np.sqrt(M))
def mpw(W, gain=1.0):
    axes = tuple(range(1, W.ndim)); fan = np.prod(W.shape[1:])
    return normalize(W, axes) * (gain / np.sqrt(fan))
def conv(x, W, gain=1.0):
    w = mpw(W, gain); k = w.shape[-1]; p = k // 2
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p))); H, Wd = x.shape[2], x.shape[3]
    y = 0
    for a in range(k):
        for b in range(k):
            y = y + np.einsum('nihw,oi->nohw', xp[:, :, a:a + H, b:b + Wd], w[:, :, a, b])
    return y
def linear(x, W, gain=1.0): return x @ mpw(W, gain).T
silu = lambda x: x / (1 + np.exp(-x)) / 0.596
def mpsum(a, b, t): return ((1 - t) * a + t * b) / np.sqrt((1 - t) ** 2 + t ** 2)
def mpcat(a, b, t=0.5):
    Na, Nb = a.shape[1], b.shape[1]; C = np.sqrt((Na + Nb) / ((1 - t) ** 2 + t ** 2))
    return np.concatenate([a * (C * (1 - t) / np.sqrt(Na)), b * (C * t / np.sqrt(Nb))], axis=1)
def fourier(s, pre): return np.sqrt(2) * np.cos(np.outer(s, B[pre + '.freqs']) + B[pre + '.phases'])
def block(pre, x, emb, flavor, res, heads):
    if res == 'down': x = x.reshape(x.shape[0], x.shape[1], x.shape[2] // 2, 2, x.shape[3] // 2, 2).mean(axis=(3, 5))
    if res == 'up': x = x.repeat(2, axis=2).repeat(2, axis=3)
    skip = pre + '.conv_skip.weight' in P
    if flavor == 'enc':
        if skip: x = conv(x, P[pre + '.conv_skip.weight'])
        x = normalize(x, (1,))
    y = conv(silu(x), P[pre + '.conv_res0.weight'])
    c = linear(emb, P[pre + '.emb_linear.weight'], P[pre + '.emb_gain']) + 1
    y = silu(y * c[:, :, None, None])
    y = conv(y, P[pre + '.conv_res1.weight'])
    if flavor == 'dec' and skip: x = conv(x, P[pre + '.conv_skip.weight'])
    x = mpsum(x, y, 0.3)
    if heads:
        N, C, H, W = x.shape; ch = C // heads
        qkv = conv(x, P[pre + '.attn_qkv.weight']).reshape(N, heads, ch, 3, H * W)
        qkv = normalize(qkv, (2,))
        q, k, v = qkv[:, :, :, 0], qkv[:, :, :, 1], qkv[:, :, :, 2]
        l = np.einsum('nhcq,nhck->nhqk', q, k / np.sqrt(ch)); l = l - l.max(-1, keepdims=True)
        a = np.exp(l); a = a / a.sum(-1, keepdims=True)
        o = np.einsum('nhqk,nhck->nhcq', a, v).reshape(N, C, H, W)
        x = mpsum(x, conv(o, P[pre + '.attn_proj.weight']), 0.3)
    return np.clip(x, -256, 256)
ENC = [('unet.enc.16x16_conv', None, None, 0), ('unet.enc.16x16_block0', 'enc', 'keep', 0),
       ('unet.enc.8x8_down', 'enc', 'down', 0), ('unet.enc.8x8_block0', 'enc', 'keep', 1)]
DEC = [('unet.dec.8x8_in0', 'keep', 1, False), ('unet.dec.8x8_in1', 'keep', 0, False),
       ('unet.dec.8x8_block0', 'keep', 1, True), ('unet.dec.8x8_block1', 'keep', 1, True),
       ('unet.dec.16x16_up', 'up', 0, False), ('unet.dec.16x16_block0', 'keep', 0, True),
       ('unet.dec.16x16_block1', 'keep', 0, True)]
def unet(x, cn):
    emb = silu(linear(fourier(cn, 'unet.emb_fourier'), P['unet.emb_noise.weight']))
    x = np.concatenate([x, np.ones((x.shape[0], 1) + x.shape[2:])], axis=1)
    skips = []
    for pre, fl, rs, hd in ENC:
        x = conv(x, P[pre + '.weight']) if fl is None else block(pre, x, emb, fl, rs, hd)
        skips.append(x)
    for pre, rs, hd, cat in DEC:
        if cat: x = mpcat(x, skips.pop())
        x = block(pre, x, emb, 'dec', rs, hd)
    return conv(x, P['unet.out_conv.weight'], P['unet.out_gain'])
y, eps, sigma = T['y'], T['eps'], T['sigma']
def loss_and_D():
    s = sigma.reshape(-1, 1, 1, 1); sd = 0.5; x = y + s * eps
    cs, co, ci = sd**2 / (s**2 + sd**2), s * sd / np.sqrt(s**2 + sd**2), 1 / np.sqrt(s**2 + sd**2)
    cn = np.log(sigma) / 4
    D = cs * x + co * unet(ci * x, cn)
    u = linear(fourier(cn, 'logvar_fourier'), P['logvar_linear.weight']).reshape(-1, 1, 1, 1)
    lam = (s**2 + sd**2) / (s * sd) ** 2
    return np.sum(lam / np.exp(u) * (D - y) ** 2 + u) / y.shape[0], D, u
L, D, u = loss_and_D()
# print('float64 loss', L, '| reference fp32', json.loads(json.dumps(3412.720947265625)), '| ours fp32', ours['__loss'][0])
# print('max |D64 - D_ref|', np.abs(D - T['D']).max(), ' max |u64 - u_ref|', np.abs(u - T['logvar']).max())
# Directional derivatives of the float64 loss along d_i = sin(1.3 i + 0.7) (official layout, flat
# index i), by central differences with h = 1e-4, for every parameter.
out = {'loss': L}
for name in sorted(P):
    W0 = P[name].copy()
    d = np.sin(1.3 * np.arange(W0.size) + 0.7).reshape(W0.shape)
    P[name] = W0 + 1e-4 * d; Lp = loss_and_D()[0]
    P[name] = W0 - 1e-4 * d; Lm = loss_and_D()[0]
    P[name] = W0
    out[name] = (Lp - Lm) / 2e-4
print(json.dumps(out))
