/** The test kit's reference Python: DPL_PYTHON first, then the interpreters that have torch; a skip says why. */
import type * as PythonModule from '../../src/testkit/python';

/** A fresh copy of the module (its answer is cached per module instance) under `env`. */
function load(env: string | undefined): typeof PythonModule {
  const saved = process.env.DPL_PYTHON;
  if (env === undefined) delete process.env.DPL_PYTHON;
  else process.env.DPL_PYTHON = env;
  try {
    let mod: typeof PythonModule | undefined;
    jest.isolateModules(() => {
      mod = jest.requireActual<typeof PythonModule>('../../src/testkit/python');
    });
    return mod!;
  } finally {
    if (saved === undefined) delete process.env.DPL_PYTHON;
    else process.env.DPL_PYTHON = saved;
  }
}

const fallback = load(undefined).referencePython();
if (!fallback.ok) console.warn(`SKIPPED the tests that need an interpreter with torch: ${fallback.reason}`);
const withTorch = fallback.ok ? it : it.skip;

it('a DPL_PYTHON that does not run is passed over for one with torch, or named in the reason', () => {
  const r = load('/nonexistent/python-for-dpl').referencePython();
  if (fallback.ok) expect(r).toEqual(fallback);
  else expect(r.reason).toContain('/nonexistent/python-for-dpl does not run');
});

withTorch('DPL_PYTHON wins when it has torch', () => {
  const r = load(fallback.python).referencePython();
  expect(r).toEqual({ python: fallback.python, ok: true, reason: `${fallback.python} has torch and torchvision` });
});

it('pythonLacks names the interpreter and the missing module, prints the skip, and is undefined for what it has', () => {
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  try {
    const py = load(undefined);
    const reason = py.pythonLacks('a check', ['dpl_no_such_module_x']);
    expect(reason).toContain(`${py.referencePython().python} lacks dpl_no_such_module_x`);
    expect(warn).toHaveBeenCalledWith(`SKIPPED a check: ${reason}`);
    warn.mockClear();
    expect(py.pythonLacks('a check', ['json'])).toBeUndefined();
    expect(warn).not.toHaveBeenCalled();
  } finally {
    warn.mockRestore();
  }
});
