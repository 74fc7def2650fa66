//! Making a component's state outside its linear memory restorable in place: the
//! first step of reusing a live instance per conversation without giving up the
//! fresh-instance guarantee (issue 20; docs/benchmarks.md, "What reaching the
//! targets needs").
//!
//! An instance carries state from one call to the next in its linear memory, its
//! mutable globals, its tables, its dropped segments and the component's handle
//! tables. [`instrument`] reads a component and either says why its state cannot be
//! restored ([`NotRestorable`]: a table writer, a segment drop, a guest-defined
//! resource or an async built-in, a reference-typed global, several memories) or
//! returns it rewritten so that every mutable global any function writes has a shadow
//! copy: each core instance that writes globals exports `save` (copy every written
//! global into its shadow) and `restore` (copy the shadows back, returning how many
//! had changed), lifted to the component level as `ratchet-reset-save-iN` and
//! `ratchet-reset-restore-iN` for core instance N. The rewrite only appends (types,
//! functions, globals, exports, sections), so no index the component already uses
//! moves, and it is deterministic: the same bytes in, the same bytes out.
//!
//! Memory is restored by the host (it can see which pages a call wrote); the WASI
//! resource table by giving each call a fresh one. Neither is this module's concern.

use std::collections::BTreeSet;

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{
    Alias, CanonicalFunctionSection, CodeSection, ComponentAliasSection, ComponentExportKind, ComponentExportSection, ComponentSectionId, ComponentTypeSection,
    ConstExpr, ExportKind, ExportSection, Function, FunctionSection, GlobalSection, GlobalType, Instruction, Module, PrimitiveValType, RawSection, TypeSection,
    ValType,
};
use wasmparser::{
    CanonicalFunction, ComponentAlias, ComponentExternalKind, ComponentOuterAliasKind, ComponentTypeRef, ExternalKind, Instance, Operator, Parser, Payload,
    TypeRef,
};

/// The export a rewritten core module gets for saving its written globals.
pub const SAVE: &str = "ratchet-reset-save";
/// The export a rewritten core module gets for restoring them (returns the count that differed).
pub const RESTORE: &str = "ratchet-reset-restore";
/// The component export through which the host finds the instance's linear memory
/// (`func() -> tuple<u32, u32>`, lifted with the memory as its canonical option; the
/// core function returns address 0 and writes nothing).
pub const MEMORY: &str = "ratchet-reset-memory";

/// Why a component's state cannot be restored in place (it keeps a fresh instance per call).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NotRestorable {
    /// The bytes did not parse as a component.
    #[error("not a component wasmparser can read: {0}")]
    Parse(String),
    /// A nested component defines core modules, instances or canonical functions.
    #[error("a nested component holds core code")]
    NestedCode,
    /// A core module changes a table or drops a segment: state the rewrite cannot save.
    #[error("core module {module} uses `{op}` (tables and dropped segments cannot be restored)")]
    TableOrSegment {
        /// The module's index in the component.
        module: u32,
        /// The instruction.
        op: &'static str,
    },
    /// A core module writes a global that holds a reference or a vector.
    #[error("core module {module} writes a global of type {ty}")]
    UnsupportedGlobal {
        /// The module's index in the component.
        module: u32,
        /// The global's type.
        ty: String,
    },
    /// A canonical built-in whose state the host cannot see (guest-defined resources,
    /// async tasks, streams, futures, threads, context slots).
    #[error("the component uses the canonical built-in `{0}`")]
    Canon(String),
    /// Not exactly one linear memory is defined.
    #[error("{0} linear memories are defined; exactly one is supported")]
    Memories(u32),
    /// The module that defines the memory does not export it (the host finds the
    /// memory through a canonical option that names it).
    #[error("the linear memory is not exported by the module that defines it")]
    MemoryNotExported,
}

/// A component rewritten so that its globals can be saved and restored.
#[derive(Debug, Clone)]
pub struct Restorable {
    /// The rewritten component.
    pub bytes: Vec<u8>,
    /// For each core instance whose module writes globals: the component exports that
    /// save and restore them (`func()` and `func() -> u32`).
    pub instances: Vec<InstanceExports>,
}

/// The save/restore exports of one core instance.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceExports {
    /// `func()`: copy every written global into its shadow.
    pub save: String,
    /// `func() -> u32`: copy the shadows back; how many globals had changed.
    pub restore: String,
    /// How many globals it saves.
    pub globals: u32,
}

/// What one core module needs: the globals its code writes, with their types.
struct ModulePlan {
    written: Vec<(u32, ValType)>,
    defined_memories: u32,
    /// The name the module exports its (defined) memory under.
    memory_export: Option<String>,
}

impl ModulePlan {
    fn rewritten(&self) -> bool {
        !self.written.is_empty() || self.defined_memories > 0
    }
}

/// Analyse `component` and, when its state outside memory can be restored, return it
/// with save/restore exports added (see the module documentation).
pub fn instrument(component: &[u8]) -> Result<Restorable, NotRestorable> {
    let parse = |e: wasmparser::BinaryReaderError| NotRestorable::Parse(e.to_string());

    // Pass 1: the top-level sections, the modules, the index spaces the appended
    // sections extend, and which module each core instance instantiates.
    let mut sections: Vec<(u8, std::ops::Range<usize>)> = Vec::new();
    let mut modules: Vec<std::ops::Range<usize>> = Vec::new();
    let mut instance_module: Vec<Option<u32>> = Vec::new();
    let (mut core_funcs, mut funcs, mut types, mut core_memories) = (0u32, 0u32, 0u32, 0u32);
    // Kinds of the nested items being walked (their payloads come inline).
    #[derive(PartialEq)]
    enum Nested {
        Module,
        Component,
    }
    let mut nested: Vec<Nested> = Vec::new();
    for payload in Parser::new(0).parse_all(component) {
        let payload = payload.map_err(parse)?;
        if !nested.is_empty() {
            let in_component = nested.contains(&Nested::Component);
            match payload {
                Payload::ModuleSection { .. } if in_component => return Err(NotRestorable::NestedCode),
                Payload::InstanceSection(_) | Payload::ComponentCanonicalSection(_) if in_component => return Err(NotRestorable::NestedCode),
                Payload::ModuleSection { .. } => nested.push(Nested::Module),
                Payload::ComponentSection { .. } => nested.push(Nested::Component),
                Payload::End(_) => {
                    nested.pop();
                }
                _ => {}
            }
            continue;
        }
        if let Some((id, range)) = payload.as_section() {
            sections.push((id, range.start as usize..range.end as usize));
        }
        match payload {
            Payload::Version { encoding, .. } if encoding != wasmparser::Encoding::Component => {
                return Err(NotRestorable::Parse("a core module, not a component".into()));
            }
            Payload::ModuleSection { unchecked_range, .. } => {
                modules.push(unchecked_range.start as usize..unchecked_range.end as usize);
                nested.push(Nested::Module);
            }
            Payload::ComponentSection { .. } => nested.push(Nested::Component),
            Payload::InstanceSection(reader) => {
                for instance in reader {
                    instance_module.push(match instance.map_err(parse)? {
                        Instance::Instantiate { module_index, .. } => Some(module_index),
                        Instance::FromExports(_) => None,
                    });
                }
            }
            Payload::ComponentTypeSection(reader) => types += reader.count(),
            Payload::ComponentImportSection(reader) => {
                for import in reader {
                    match import.map_err(parse)?.ty {
                        ComponentTypeRef::Func(_) => funcs += 1,
                        ComponentTypeRef::Type(_) => types += 1,
                        _ => {}
                    }
                }
            }
            Payload::ComponentExportSection(reader) => {
                for export in reader {
                    match export.map_err(parse)?.kind {
                        ComponentExternalKind::Func => funcs += 1,
                        ComponentExternalKind::Type => types += 1,
                        _ => {}
                    }
                }
            }
            Payload::ComponentAliasSection(reader) => {
                for alias in reader {
                    match alias.map_err(parse)? {
                        ComponentAlias::InstanceExport { kind: ComponentExternalKind::Func, .. } => funcs += 1,
                        ComponentAlias::InstanceExport { kind: ComponentExternalKind::Type, .. } => types += 1,
                        ComponentAlias::CoreInstanceExport { kind: ExternalKind::Func, .. } => core_funcs += 1,
                        ComponentAlias::CoreInstanceExport { kind: ExternalKind::Memory, .. } => core_memories += 1,
                        ComponentAlias::Outer { kind: ComponentOuterAliasKind::Type, .. } => types += 1,
                        _ => {}
                    }
                }
            }
            Payload::ComponentCanonicalSection(reader) => {
                for canon in reader {
                    match canon.map_err(parse)? {
                        CanonicalFunction::Lift { .. } => funcs += 1,
                        CanonicalFunction::Lower { .. } | CanonicalFunction::ResourceDrop { .. } => core_funcs += 1,
                        other => return Err(NotRestorable::Canon(canon_name(&other))),
                    }
                }
            }
            Payload::End(_) => break,
            _ => {}
        }
    }

    // Each module: what its code writes, whether it can be saved at all.
    let mut plans = Vec::with_capacity(modules.len());
    let mut memories = 0;
    for (i, range) in modules.iter().enumerate() {
        let plan = plan_module(i as u32, &component[range.clone()])?;
        memories += plan.defined_memories;
        plans.push(plan);
    }
    if memories != 1 {
        return Err(NotRestorable::Memories(memories));
    }

    // Pass 2: the same sections, the modules that write globals rewritten, then the
    // lifted save/restore exports.
    let mut out = wasm_encoder::Component::new();
    let mut module_index = 0usize;
    for (id, range) in &sections {
        if *id == ComponentSectionId::CoreModule as u8 {
            let plan = &plans[module_index];
            let bytes = &component[modules[module_index].clone()];
            module_index += 1;
            if !plan.rewritten() {
                out.section(&RawSection { id: *id, data: bytes });
            } else {
                let module = rewrite_module(bytes, &plan.written, plan.defined_memories > 0).map_err(NotRestorable::Parse)?;
                out.section(&wasm_encoder::ModuleSection(&module));
            }
        } else {
            out.section(&RawSection { id: *id, data: &component[range.clone()] });
        }
    }

    let instrumented: Vec<(u32, u32)> = instance_module
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.filter(|m| plans[*m as usize].rewritten()).map(|m| (i as u32, plans[m as usize].written.len() as u32)))
        .collect();
    // The instance of the module that defines the memory, and the memory's export name.
    let memory_owner = instance_module.iter().enumerate().find_map(|(i, m)| {
        let plan = &plans[(*m)? as usize];
        (plan.defined_memories > 0).then(|| plan.memory_export.clone().map(|name| (i as u32, name)))
    });
    let Some(Some((memory_instance, memory_name))) = memory_owner else { return Err(NotRestorable::MemoryNotExported) };

    let mut ty = ComponentTypeSection::new();
    ty.function().params(std::iter::empty::<(&str, PrimitiveValType)>()).result(None);
    ty.function().params(std::iter::empty::<(&str, PrimitiveValType)>()).result(Some(PrimitiveValType::U32.into()));
    ty.defined_type().tuple([PrimitiveValType::U32, PrimitiveValType::U32]);
    ty.function().params(std::iter::empty::<(&str, PrimitiveValType)>()).result(Some(wasm_encoder::ComponentValType::Type(types + 2)));
    let (save_ty, restore_ty, memory_ty) = (types, types + 1, types + 3);
    out.section(&ty);
    let mut aliases = ComponentAliasSection::new();
    let mut canon = CanonicalFunctionSection::new();
    let mut exports = ComponentExportSection::new();
    let mut instances = Vec::new();
    let none = || std::iter::empty::<wasm_encoder::CanonicalOption>();
    for (n, (instance, globals)) in instrumented.iter().enumerate() {
        let n = n as u32;
        aliases.alias(Alias::CoreInstanceExport { instance: *instance, kind: ExportKind::Func, name: SAVE });
        aliases.alias(Alias::CoreInstanceExport { instance: *instance, kind: ExportKind::Func, name: RESTORE });
        canon.lift(core_funcs + 2 * n, save_ty, none());
        canon.lift(core_funcs + 2 * n + 1, restore_ty, none());
        let save = format!("{SAVE}-i{instance}");
        let restore = format!("{RESTORE}-i{instance}");
        exports.export(save.as_str(), ComponentExportKind::Func, funcs + 2 * n, None);
        exports.export(restore.as_str(), ComponentExportKind::Func, funcs + 2 * n + 1, None);
        instances.push(InstanceExports { save, restore, globals: *globals });
    }
    // The memory probe: the owner's `ratchet-reset-memory` core function, lifted with
    // its memory as the canonical option.
    let lifted = 2 * instrumented.len() as u32;
    aliases.alias(Alias::CoreInstanceExport { instance: memory_instance, kind: ExportKind::Func, name: MEMORY });
    aliases.alias(Alias::CoreInstanceExport { instance: memory_instance, kind: ExportKind::Memory, name: &memory_name });
    canon.lift(core_funcs + lifted, memory_ty, [wasm_encoder::CanonicalOption::Memory(core_memories)]);
    exports.export(MEMORY, ComponentExportKind::Func, funcs + lifted, None);
    out.section(&aliases);
    out.section(&canon);
    out.section(&exports);
    Ok(Restorable { bytes: out.finish(), instances })
}

fn canon_name(c: &CanonicalFunction) -> String {
    let debug = format!("{c:?}");
    debug.split([' ', '{', '(']).next().unwrap_or(&debug).to_string()
}

/// The globals `module`'s code writes, and whether anything else it does is beyond saving.
fn plan_module(index: u32, module: &[u8]) -> Result<ModulePlan, NotRestorable> {
    let parse = |e: wasmparser::BinaryReaderError| NotRestorable::Parse(format!("core module {index}: {e}"));
    let mut global_types: Vec<wasmparser::GlobalType> = Vec::new();
    let mut written = BTreeSet::new();
    let mut defined_memories = 0;
    let mut imported_memories = 0;
    let mut memory_export = None;
    for payload in Parser::new(0).parse_all(module) {
        match payload.map_err(parse)? {
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export.map_err(parse)?;
                    if export.kind == ExternalKind::Memory && export.index >= imported_memories && memory_export.is_none() {
                        memory_export = Some(export.name.to_string());
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    match import.map_err(parse)?.ty {
                        TypeRef::Global(g) => global_types.push(g),
                        TypeRef::Memory(_) => imported_memories += 1,
                        _ => {}
                    }
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    global_types.push(global.map_err(parse)?.ty);
                }
            }
            Payload::MemorySection(reader) => defined_memories += reader.count(),
            Payload::CodeSectionEntry(body) => {
                let mut ops = body.get_operators_reader().map_err(parse)?;
                while !ops.eof() {
                    let op = ops.read().map_err(parse)?;
                    let refused = match op {
                        Operator::GlobalSet { global_index } => {
                            written.insert(global_index);
                            None
                        }
                        Operator::TableSet { .. } => Some("table.set"),
                        Operator::TableGrow { .. } => Some("table.grow"),
                        Operator::TableFill { .. } => Some("table.fill"),
                        Operator::TableCopy { .. } => Some("table.copy"),
                        Operator::TableInit { .. } => Some("table.init"),
                        Operator::ElemDrop { .. } => Some("elem.drop"),
                        Operator::DataDrop { .. } => Some("data.drop"),
                        _ => None,
                    };
                    if let Some(op) = refused {
                        return Err(NotRestorable::TableOrSegment { module: index, op });
                    }
                }
            }
            _ => {}
        }
    }
    let mut plan = Vec::with_capacity(written.len());
    for g in written {
        let ty = global_types.get(g as usize).ok_or_else(|| NotRestorable::Parse(format!("core module {index}: global {g} out of range")))?;
        let vt = match ty.content_type {
            wasmparser::ValType::I32 => ValType::I32,
            wasmparser::ValType::I64 => ValType::I64,
            wasmparser::ValType::F32 => ValType::F32,
            wasmparser::ValType::F64 => ValType::F64,
            other => return Err(NotRestorable::UnsupportedGlobal { module: index, ty: format!("{other:?}") }),
        };
        plan.push((g, vt));
    }
    Ok(ModulePlan { written: plan, defined_memories, memory_export })
}

/// `module` with a shadow global per written global and the `save`/`restore` exports
/// (and, for the module that defines the memory, `probe`: the memory probe's core
/// function). Everything is appended, so no existing index moves.
fn rewrite_module(module: &[u8], written: &[(u32, ValType)], probe: bool) -> Result<Module, String> {
    let err = |e: wasmparser::BinaryReaderError| e.to_string();
    use wasm_encoder::SectionId as S;
    // Section order of a core module (custom sections keep their place).
    const ORDER: [S; 13] =
        [S::Type, S::Import, S::Function, S::Table, S::Memory, S::Tag, S::Global, S::Export, S::Start, S::Element, S::DataCount, S::Code, S::Data];
    let rank = |id: u8| ORDER.iter().position(|s| *s as u8 == id);
    let (global_rank, export_rank) = (rank(S::Global as u8).unwrap(), rank(S::Export as u8).unwrap());

    let mut types = 0u32; // types defined (rec groups flattened)
    let mut imported_funcs = 0u32;
    let mut defined_funcs = 0u32;
    let mut globals = 0u32; // imported + defined, before the shadows
    let (mut globals_done, mut exports_done) = (false, false);
    let mut first_shadow = 0u32;
    let mut code: Option<(CodeSection, u32)> = None; // the section being copied, entries left
    let mut out = Module::new();
    let mut re = RoundtripReencoder;

    let shadows = |section: &mut GlobalSection| {
        for (_, ty) in written {
            let init = match ty {
                ValType::I32 => ConstExpr::i32_const(0),
                ValType::I64 => ConstExpr::i64_const(0),
                ValType::F32 => ConstExpr::f32_const(0.0f32.into()),
                _ => ConstExpr::f64_const(0.0f64.into()),
            };
            section.global(GlobalType { val_type: *ty, mutable: true, shared: false }, &init);
        }
    };

    for payload in Parser::new(0).parse_all(module) {
        let payload = payload.map_err(err)?;
        // The sections the module lacks go before the first section that follows them.
        if let Some(r) = payload.as_section().and_then(|(id, _)| if id == 0 { None } else { rank(id) }) {
            if r > global_rank && !globals_done {
                first_shadow = globals;
                let mut section = GlobalSection::new();
                shadows(&mut section);
                out.section(&section);
                globals_done = true;
            }
            if r > export_rank && !exports_done {
                let mut section = ExportSection::new();
                add_exports(&mut section, imported_funcs + defined_funcs, probe);
                out.section(&section);
                exports_done = true;
            }
        }
        match payload {
            Payload::Version { .. } | Payload::End(_) => {}
            Payload::TypeSection(reader) => {
                for group in reader.clone() {
                    types += group.map_err(err)?.types().len() as u32;
                }
                let mut section = TypeSection::new();
                re.parse_type_section(&mut section, reader).map_err(|e| format!("{e:?}"))?;
                section.ty().function([], []);
                section.ty().function([], [ValType::I32]);
                out.section(&section);
            }
            Payload::ImportSection(reader) => {
                for import in reader.clone().into_imports() {
                    match import.map_err(err)?.ty {
                        TypeRef::Func(_) | TypeRef::FuncExact(_) => imported_funcs += 1,
                        TypeRef::Global(_) => globals += 1,
                        _ => {}
                    }
                }
                let range = reader.range();
                out.section(&RawSection { id: S::Import as u8, data: &module[range.start as usize..range.end as usize] });
            }
            Payload::FunctionSection(reader) => {
                defined_funcs = reader.count();
                let mut section = FunctionSection::new();
                re.parse_function_section(&mut section, reader).map_err(|e| format!("{e:?}"))?;
                section.function(types);
                section.function(types + 1);
                if probe {
                    section.function(types + 1);
                }
                out.section(&section);
            }
            Payload::GlobalSection(reader) => {
                globals += reader.count();
                first_shadow = globals;
                let mut section = GlobalSection::new();
                re.parse_global_section(&mut section, reader).map_err(|e| format!("{e:?}"))?;
                shadows(&mut section);
                globals_done = true;
                out.section(&section);
            }
            Payload::ExportSection(reader) => {
                let mut section = ExportSection::new();
                re.parse_export_section(&mut section, reader).map_err(|e| format!("{e:?}"))?;
                add_exports(&mut section, imported_funcs + defined_funcs, probe);
                exports_done = true;
                out.section(&section);
            }
            Payload::CodeSectionStart { count, .. } => {
                code = Some((CodeSection::new(), count));
                if count == 0 {
                    let (mut section, _) = code.take().unwrap();
                    append_bodies(&mut section, written, first_shadow, probe);
                    out.section(&section);
                }
            }
            Payload::CodeSectionEntry(body) => {
                let range = body.range();
                let (section, left) = code.as_mut().expect("code entries follow the code section's start");
                section.raw(&module[range.start as usize..range.end as usize]);
                *left -= 1;
                if *left == 0 {
                    let (mut section, _) = code.take().unwrap();
                    append_bodies(&mut section, written, first_shadow, probe);
                    out.section(&section);
                }
            }
            Payload::CustomSection(c) => {
                out.section(&wasm_encoder::CustomSection { name: c.name().into(), data: c.data().into() });
            }
            other => {
                if let Some((id, range)) = other.as_section() {
                    out.section(&RawSection { id, data: &module[range.start as usize..range.end as usize] });
                }
            }
        }
    }
    Ok(out)
}

fn add_exports(section: &mut ExportSection, first_new: u32, probe: bool) {
    section.export(SAVE, ExportKind::Func, first_new);
    section.export(RESTORE, ExportKind::Func, first_new + 1);
    if probe {
        section.export(MEMORY, ExportKind::Func, first_new + 2);
    }
}

/// The bodies of `save` and `restore` for `written` (shadows from `first_shadow` on),
/// and of the memory probe when `probe`.
fn append_bodies(code: &mut CodeSection, written: &[(u32, ValType)], first_shadow: u32, probe: bool) {
    let mut save = Function::new([]);
    for (k, (g, _)) in written.iter().enumerate() {
        save.instruction(&Instruction::GlobalGet(*g));
        save.instruction(&Instruction::GlobalSet(first_shadow + k as u32));
    }
    save.instruction(&Instruction::End);
    code.function(&save);

    // restore: changed += (bits(g) != bits(shadow)); g = shadow — bits, so that a NaN
    // counts as unchanged only when it is the same NaN.
    let mut restore = Function::new([(1, ValType::I32)]);
    for (k, (g, ty)) in written.iter().enumerate() {
        let shadow = first_shadow + k as u32;
        restore.instruction(&Instruction::GlobalGet(*g));
        bits(&mut restore, ty);
        restore.instruction(&Instruction::GlobalGet(shadow));
        bits(&mut restore, ty);
        restore.instruction(match ty {
            ValType::I32 | ValType::F32 => &Instruction::I32Ne,
            _ => &Instruction::I64Ne,
        });
        restore.instruction(&Instruction::LocalGet(0));
        restore.instruction(&Instruction::I32Add);
        restore.instruction(&Instruction::LocalSet(0));
        restore.instruction(&Instruction::GlobalGet(shadow));
        restore.instruction(&Instruction::GlobalSet(*g));
    }
    restore.instruction(&Instruction::LocalGet(0));
    restore.instruction(&Instruction::End);
    code.function(&restore);

    if probe {
        // The result area the host lifts from: address 0, whatever its 8 bytes hold
        // (the host reads none of it; it only needs the lift's view of the memory).
        let mut f = Function::new([]);
        f.instruction(&Instruction::I32Const(0));
        f.instruction(&Instruction::End);
        code.function(&f);
    }
}

fn bits(f: &mut Function, ty: &ValType) {
    match ty {
        ValType::F32 => {
            f.instruction(&Instruction::I32ReinterpretF32);
        }
        ValType::F64 => {
            f.instruction(&Instruction::I64ReinterpretF64);
        }
        _ => {}
    }
}

/// What the `ratchet-reset-memory` probe returns: where the instance's linear memory
/// is in this process and how long it is (read from the lift's view of the memory;
/// the probe writes nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryProbe {
    /// The memory's first byte.
    pub base: usize,
    /// Its current length in bytes.
    pub len: usize,
}

use wasmtime::component::__internal::{CanonicalAbiInfo, InstanceType, InterfaceType, LiftContext};
use wasmtime::component::{ComponentType, Lift};

// SAFETY: the same representation as `(u32, u32)`, which it type-checks as; lifting
// reads nothing from the value, only where the memory is.
unsafe impl ComponentType for MemoryProbe {
    type Lower = <(u32, u32) as ComponentType>::Lower;
    const ABI: CanonicalAbiInfo = <(u32, u32) as ComponentType>::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <(u32, u32) as ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: see above.
unsafe impl Lift for MemoryProbe {
    fn linear_lift_from_flat(cx: &mut LiftContext<'_>, _ty: InterfaceType, _src: &Self::Lower) -> wasmtime::Result<Self> {
        let m = cx.memory();
        Ok(MemoryProbe { base: m.as_ptr() as usize, len: m.len() })
    }

    fn linear_lift_from_memory(cx: &mut LiftContext<'_>, _ty: InterfaceType, _bytes: &[u8]) -> wasmtime::Result<Self> {
        let m = cx.memory();
        Ok(MemoryProbe { base: m.as_ptr() as usize, len: m.len() })
    }
}

/// A copy of an instance's linear memory, taken right after instantiation, that a
/// later state of the same memory can be put back to page by page.
pub struct MemorySnapshot {
    at: MemoryProbe,
    bytes: Vec<u8>,
}

/// What a restore did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RestoreStats {
    /// Pages compared with the snapshot (those the kernel says were written, or all).
    pub compared: usize,
    /// Pages that differed and were copied back.
    pub restored: usize,
}

const PAGE: usize = 4096;

impl MemorySnapshot {
    /// Copy the memory at `at`.
    ///
    /// # Safety
    /// `at` must describe a live instance's memory that no wasm is running in.
    pub unsafe fn take(at: MemoryProbe) -> MemorySnapshot {
        // SAFETY: the caller's contract.
        let bytes = unsafe { std::slice::from_raw_parts(at.base as *const u8, at.len) }.to_vec();
        MemorySnapshot { at, bytes }
    }

    /// Put the memory at `now` back to the snapshot: the pages the kernel reports as
    /// written (present, not backed by the copy-on-write image; `/proc/self/pagemap`)
    /// are compared and copied back when they differ; without a readable pagemap,
    /// every page. Refused (the instance must be discarded) when the memory moved or
    /// changed size.
    ///
    /// # Safety
    /// `now` must describe the same live instance's memory, no wasm running in it.
    pub unsafe fn restore(&self, now: MemoryProbe, pagemap: Option<&std::fs::File>) -> Result<RestoreStats, String> {
        if now != self.at {
            return Err(format!("the memory moved or changed size ({:?} → {:?})", self.at, now));
        }
        if !self.at.base.is_multiple_of(PAGE) || !self.at.len.is_multiple_of(PAGE) {
            return Err("the memory is not page-aligned".into());
        }
        let pages = self.at.len / PAGE;
        let written: Option<Vec<bool>> = pagemap.and_then(|f| {
            use std::os::unix::fs::FileExt;
            let mut raw = vec![0u8; pages * 8];
            f.read_exact_at(&mut raw, (self.at.base / PAGE * 8) as u64).ok()?;
            Some(raw.chunks_exact(8).map(|e| u64::from_le_bytes(e.try_into().unwrap())).map(|e| e >> 63 & 1 == 1 && e >> 61 & 1 == 0).collect())
        });
        // SAFETY: the caller's contract.
        let memory = unsafe { std::slice::from_raw_parts_mut(self.at.base as *mut u8, self.at.len) };
        let mut stats = RestoreStats::default();
        for p in 0..pages {
            if written.as_ref().is_some_and(|w| !w[p]) {
                continue;
            }
            stats.compared += 1;
            let (now, then) = (&mut memory[p * PAGE..(p + 1) * PAGE], &self.bytes[p * PAGE..(p + 1) * PAGE]);
            if now != then {
                now.copy_from_slice(then);
                stats.restored += 1;
            }
        }
        Ok(stats)
    }
}
