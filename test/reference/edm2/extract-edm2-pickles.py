#!/usr/bin/env python3
"""Extracts the numbers of EDM2 snapshot pickles into one safetensors file, without running them.

The independent route to the tensors ema-synth's reader finds (see README.md here). Loading an
EDM2 pickle with pickle.load would compile and run the `module_src` stored inside it; this
unpickler maps the persistence hook to a function that returns its `meta` dict untouched, EasyDict
to dict and torch.nn containers to a plain state holder, so only PyTorch's own storage and tensor
rebuild functions run. Needs python3-torch (Debian); not needed by the tests.

usage: extract-edm2-pickles.py OUT.safetensors GROUP=FOLDER [GROUP=FOLDER ...]
Tensors are named <group>/<file stem>/<state-dict name>, stored in float16 as the pickles hold them.
"""
import collections, json, os, pickle, struct, sys
import torch


class Inert:
    def __init__(self, *args, **kwargs):
        self.state = None

    def __setstate__(self, state):
        self.state = state


def persistent_meta(meta):
    return {'persistent': True, 'meta': meta}


class DataOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ('torch_utils.persistence', '_reconstruct_persistent_obj'):
            return persistent_meta
        if (module, name) == ('dnnlib.util', 'EasyDict'):
            return dict
        if module.startswith('torch.nn.modules'):
            return Inert
        if (module, name) in {('torch._utils', '_rebuild_tensor_v2'), ('torch._utils', '_rebuild_parameter'),
                              ('torch.storage', '_load_from_bytes'), ('collections', 'OrderedDict')}:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f'refused global {module}.{name}')


def module_state(obj):
    return obj['meta']['state'] if isinstance(obj, dict) and obj.get('persistent') else obj.state


def state_dict(obj, prefix=''):
    state = module_state(obj)
    skipped = state.get('_non_persistent_buffers_set', set())
    for name, tensor in state['_parameters'].items():
        if tensor is not None:
            yield prefix + name, tensor, 'parameter'
    for name, tensor in state['_buffers'].items():
        if tensor is not None and name not in skipped:
            yield prefix + name, tensor, 'buffer'
    for name, child in state['_modules'].items():
        if child is not None:
            yield from state_dict(child, f'{prefix}{name}.')


def main():
    out, groups = sys.argv[1], sys.argv[2:]
    entries, blobs, buffers, offset = {}, [], set(), 0
    files = collections.OrderedDict()
    for spec in groups:
        group, folder = spec.split('=', 1)
        for file in sorted(os.listdir(folder)):
            if not file.endswith('.pkl'):
                continue
            with open(os.path.join(folder, file), 'rb') as f:
                root = DataOnlyUnpickler(f).load()
            stem = file[:-4]
            names = []
            for name, tensor, kind in state_dict(root['ema']):
                data = tensor.detach().contiguous().numpy().tobytes()
                key = f'{group}/{stem}/{name}'
                entries[key] = {'dtype': {torch.float16: 'F16', torch.float32: 'F32'}[tensor.dtype],
                                'shape': list(tensor.shape), 'data_offsets': [offset, offset + len(data)]}
                blobs.append(data)
                offset += len(data)
                names.append(name)
                if kind == 'buffer':
                    buffers.add(name)
            files[f'{group}/{stem}'] = names
    metadata = {'files': json.dumps(list(files)), 'tensor_names': json.dumps(next(iter(files.values()))),
                'buffers': json.dumps(sorted(buffers)), 'torch_version': torch.__version__}
    header = json.dumps({'__metadata__': metadata, **entries}, separators=(',', ':')).encode()
    header += b' ' * (-len(header) % 8)
    with open(out, 'wb') as f:
        f.write(struct.pack('<Q', len(header)) + header + b''.join(blobs))


if __name__ == '__main__':
    main()
