//! Compiled modules and their sandboxed instances.
//!
//! A module is compiled once (Cranelift) and instantiated lazily: each
//! thread that calls a function takes an instance from the module's pool
//! and gives it back, so calls from several query tasks run side by side.
//! Every call gets the fuel of `Limits::fuel` (a loop that never ends traps
//! when it runs out) and an instance's memory cannot grow past
//! `Limits::memory_bytes`. An instance that trapped is dropped, not reused.

use std::sync::{Arc, Mutex, OnceLock};

use wasmtime::{
    Config, Engine, ExternType, Func, Instance, InstancePre, Linker, Memory, Module, Store,
    StoreLimits, StoreLimitsBuilder, Trap, TypedFunc, Val, ValType,
};

use crate::abi::{Reader, Value};
use crate::manifest::Manifest;
use crate::WasmError;

/// What one call may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fuel per call (about one unit per wasm instruction).
    pub fuel: u64,
    /// The most linear memory an instance may have.
    pub memory_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel: 100_000_000,
            memory_bytes: 64 << 20,
        }
    }
}

fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let mut config = Config::new();
        config.consume_fuel(true);
        // one memory an instance: the limit is on it
        config.wasm_multi_memory(false);
        Engine::new(&config).expect("a wasmtime engine with fuel")
    })
}

struct State {
    limits: StoreLimits,
}

/// An export taking and returning encoded values.
pub(crate) type EncodedFunc = TypedFunc<(i32, i32), i64>;

/// The encoded ABI's export type: `(ptr, len) -> (ptr << 32) | len`.
pub(crate) const ENCODED: (&[ValType], &[ValType]) =
    (&[ValType::I32, ValType::I32], &[ValType::I64]);

/// One instance with its store and the ABI's exports.
pub(crate) struct Slot {
    store: Store<State>,
    instance: Instance,
    memory: Option<Memory>,
    alloc: Option<TypedFunc<i32, i32>>,
    reset: Option<TypedFunc<(), ()>>,
    /// A call trapped: the instance's memory and globals are as the trap left them.
    spent: bool,
    /// The exports looked up so far.
    funcs: Vec<(String, Func)>,
    encoded: Vec<(String, EncodedFunc)>,
}

/// A compiled module.
pub(crate) struct Runtime {
    pre: InstancePre<State>,
    pub(crate) limits: Limits,
    pool: Mutex<Vec<Slot>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("limits", &self.limits)
            .finish()
    }
}

/// A trap or failure of a call, said for a user.
fn call_error(e: wasmtime::Error, limits: &Limits) -> WasmError {
    match e.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => WasmError::Trap(format!(
            "the call ran out of fuel ({} units, ksql.udf.wasm.fuel.per.call)",
            limits.fuel
        )),
        Some(trap) => WasmError::Trap(format!("wasm trap: {trap}")),
        None if format!("{e:#}").contains("memory") => WasmError::Trap(format!(
            "the call needs more memory than an instance may have ({} bytes, \
             ksql.udf.wasm.memory.bytes)",
            limits.memory_bytes
        )),
        None => WasmError::Trap(format!("{e:#}")),
    }
}

/// `bytes` compiled: once per distinct module in a process (every case of
/// `sluice test` and every replay loads the same modules again).
fn compiled(bytes: &[u8]) -> Result<Module, WasmError> {
    use std::collections::HashMap;
    static CACHE: OnceLock<Mutex<HashMap<Vec<u8>, Module>>> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(m) = cache.lock().ok().and_then(|c| c.get(bytes).cloned()) {
        return Ok(m);
    }
    let module = Module::new(engine(), bytes).map_err(|e| {
        // the first line only: a text module's error goes on to quote its source
        let e = format!("{e:#}");
        WasmError::Module(format!(
            "it does not compile: {}",
            e.lines().next().unwrap_or_default()
        ))
    })?;
    if let Ok(mut c) = cache.lock() {
        if c.len() >= 64 {
            c.clear();
        }
        c.insert(bytes.to_vec(), module.clone());
    }
    Ok(module)
}

impl Runtime {
    /// Compiles `bytes` (a binary module, or its text form) and checks it
    /// imports nothing: functions run without WASI or host calls.
    pub(crate) fn compile(bytes: &[u8], limits: Limits) -> Result<Arc<Runtime>, WasmError> {
        let module = compiled(bytes)?;
        if let Some(import) = module.imports().next() {
            return Err(WasmError::Module(format!(
                "it imports {}::{}, and functions run sandboxed with nothing to import \
                 (build with -nostdlib, no WASI)",
                import.module(),
                import.name()
            )));
        }
        let pre = Linker::new(engine())
            .instantiate_pre(&module)
            .map_err(|e| WasmError::Module(format!("{e:#}")))?;
        Ok(Arc::new(Runtime {
            pre,
            limits,
            pool: Mutex::new(Vec::new()),
        }))
    }

    /// Checks export `export` of function `function` is a function taking
    /// `params` and returning `results`, as `abi` calls for.
    pub(crate) fn check_export(
        &self,
        function: &str,
        export: &str,
        (params, results): (&[ValType], &[ValType]),
        abi: &str,
    ) -> Result<(), WasmError> {
        let Some(ExternType::Func(f)) = self.pre.module().get_export(export) else {
            return Err(WasmError::Manifest(format!(
                "function '{function}': the module exports no function '{export}'"
            )));
        };
        let same = |a: Vec<ValType>, b: &[ValType]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| ValType::eq(x, y))
        };
        let (has, gives): (Vec<ValType>, Vec<ValType>) =
            (f.params().collect(), f.results().collect());
        if same(has.clone(), params) && same(gives.clone(), results) {
            return Ok(());
        }
        Err(WasmError::Manifest(format!(
            "function '{function}': export '{export}' takes {has:?} and returns {gives:?}, \
             where the {abi} ABI calls for {params:?} -> {results:?}"
        )))
    }

    fn instantiate(&self) -> Result<Slot, WasmError> {
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.memory_bytes)
            .memories(1)
            .tables(1)
            .table_elements(100_000)
            .instances(1)
            .trap_on_grow_failure(true)
            .build();
        let mut store = Store::new(engine(), State { limits });
        store.limiter(|s| &mut s.limits);
        store
            .set_fuel(self.limits.fuel)
            .map_err(|e| WasmError::Module(format!("{e:#}")))?;
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| call_error(e, &self.limits))?;
        let memory = instance.get_memory(&mut store, "memory");
        let alloc = instance
            .get_typed_func::<i32, i32>(&mut store, "sluice_alloc")
            .ok();
        let reset = instance
            .get_typed_func::<(), ()>(&mut store, "sluice_reset")
            .ok();
        Ok(Slot {
            store,
            instance,
            memory,
            alloc,
            reset,
            spent: false,
            funcs: Vec::new(),
            encoded: Vec::new(),
        })
    }

    /// Runs `f` on an instance of this thread's own while it runs.
    pub(crate) fn with_slot<T>(
        &self,
        f: impl FnOnce(&mut Slot) -> Result<T, WasmError>,
    ) -> Result<T, WasmError> {
        let taken = self.pool.lock().map(|mut p| p.pop()).unwrap_or(None);
        let mut slot = match taken {
            Some(s) => s,
            None => self.instantiate()?,
        };
        let out = f(&mut slot);
        if !slot.poisoned() {
            if let Ok(mut pool) = self.pool.lock() {
                pool.push(slot);
            }
        }
        out
    }

    /// Calls `f(slot, row)` for rows `0..rows` in order, on as few
    /// instances as it can: a row whose call fails goes to `on_error`, and
    /// the rows after it go on, on a fresh instance when that one trapped.
    pub(crate) fn for_each_row(
        &self,
        rows: usize,
        mut f: impl FnMut(&mut Slot, usize) -> Result<(), WasmError>,
        mut on_error: impl FnMut(usize, WasmError),
    ) -> Result<(), WasmError> {
        let mut row = 0;
        while row < rows {
            let failed = self.with_slot(|slot| {
                while row < rows {
                    let at = row;
                    row += 1;
                    if let Err(e) = f(slot, at) {
                        return Ok(Some((at, e)));
                    }
                }
                Ok(None)
            })?;
            if let Some((at, e)) = failed {
                on_error(at, e);
            }
        }
        Ok(())
    }

    /// The manifest the module hands over.
    pub(crate) fn manifest(&self) -> Result<Manifest, WasmError> {
        self.with_slot(|slot| {
            let f = slot
                .instance
                .get_typed_func::<(), i64>(&mut slot.store, "sluice_manifest")
                .map_err(|_| {
                    WasmError::Module(
                        "it exports no `sluice_manifest: () -> i64` declaring its functions".into(),
                    )
                })?;
            slot.refuel(self.limits.fuel)?;
            let at = f
                .call(&mut slot.store, ())
                .map_err(|e| slot.failed(e, &self.limits))?;
            let text = slot.bytes(at)?;
            serde_json::from_slice(&text)
                .map_err(|e| WasmError::Manifest(format!("the manifest is not valid: {e}")))
        })
    }
}

impl Slot {
    /// An instance whose call trapped is not reused (see [`Runtime::with_slot`]).
    fn poisoned(&self) -> bool {
        self.spent
    }

    fn refuel(&mut self, fuel: u64) -> Result<(), WasmError> {
        self.store
            .set_fuel(fuel)
            .map_err(|e| WasmError::Module(format!("{e:#}")))
    }

    /// The bytes at `(ptr << 32) | len` of the instance's memory.
    fn bytes(&mut self, at: i64) -> Result<Vec<u8>, WasmError> {
        let memory = self
            .memory
            .ok_or_else(|| WasmError::Module("it exports no `memory`".into()))?;
        let (ptr, len) = (
            (at as u64 >> 32) as usize,
            (at as u64 & 0xffff_ffff) as usize,
        );
        memory
            .data(&self.store)
            .get(ptr..ptr.saturating_add(len))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| {
                WasmError::Value(format!(
                    "the result at {ptr} ({len} bytes) is outside the module's memory"
                ))
            })
    }

    /// Calls `f` with `args` as wasm values (the direct ABI).
    pub(crate) fn call_direct(
        &mut self,
        f: &Func,
        args: &[Val],
        result: &mut [Val],
        limits: &Limits,
    ) -> Result<(), WasmError> {
        self.refuel(limits.fuel)?;
        f.call(&mut self.store, args, result)
            .map_err(|e| self.failed(e, limits))
    }

    /// Calls `f` with its encoded arguments (the encoded ABI) and reads the
    /// value it returns.
    pub(crate) fn call_encoded(
        &mut self,
        f: &TypedFunc<(i32, i32), i64>,
        args: &[u8],
        limits: &Limits,
    ) -> Result<Value, WasmError> {
        let (Some(alloc), Some(reset), Some(memory)) =
            (self.alloc.clone(), self.reset.clone(), self.memory)
        else {
            return Err(WasmError::Module(
                "the encoded ABI needs the exports `memory`, `sluice_alloc` and `sluice_reset`"
                    .into(),
            ));
        };
        self.refuel(limits.fuel)?;
        reset
            .call(&mut self.store, ())
            .map_err(|e| self.failed(e, limits))?;
        let ptr = alloc
            .call(&mut self.store, args.len() as i32)
            .map_err(|e| self.failed(e, limits))?;
        memory
            .write(&mut self.store, ptr as u32 as usize, args)
            .map_err(|e| WasmError::Value(format!("the arguments do not fit: {e}")))?;
        let at = f
            .call(&mut self.store, (ptr, args.len() as i32))
            .map_err(|e| self.failed(e, limits))?;
        let bytes = self.bytes(at)?;
        let mut reader = Reader::new(&bytes);
        let value = reader.value()?;
        reader.finish()?;
        Ok(value)
    }

    /// A failed call: the instance is spent and the error says why.
    fn failed(&mut self, e: wasmtime::Error, limits: &Limits) -> WasmError {
        self.spent = true;
        call_error(e, limits)
    }

    /// Export `name` (checked when the module was loaded).
    pub(crate) fn func(&mut self, name: &str) -> Result<Func, WasmError> {
        if let Some((_, f)) = self.funcs.iter().find(|(n, _)| n == name) {
            return Ok(*f);
        }
        let f = self
            .instance
            .get_func(&mut self.store, name)
            .ok_or_else(|| WasmError::Module(format!("it exports no function '{name}'")))?;
        self.funcs.push((name.to_string(), f));
        Ok(f)
    }

    /// Export `name`, an encoded-ABI function.
    pub(crate) fn encoded_func(
        &mut self,
        name: &str,
    ) -> Result<TypedFunc<(i32, i32), i64>, WasmError> {
        if let Some((_, f)) = self.encoded.iter().find(|(n, _)| n == name) {
            return Ok(f.clone());
        }
        let f = self
            .instance
            .get_typed_func::<(i32, i32), i64>(&mut self.store, name)
            .map_err(|_| {
                WasmError::Module(format!(
                    "it exports no function '{name}: (i32, i32) -> i64'"
                ))
            })?;
        self.encoded.push((name.to_string(), f.clone()));
        Ok(f)
    }

    /// Calls the encoded-ABI export `name`.
    pub(crate) fn call(
        &mut self,
        name: &str,
        args: &[u8],
        limits: &Limits,
    ) -> Result<Value, WasmError> {
        let f = self.encoded_func(name)?;
        self.call_encoded(&f, args, limits)
    }
}
