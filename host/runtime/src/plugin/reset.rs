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
}

/// The save/restore exports of a component [`instrument`] produced, read back from
/// its compiled form (so a cached artifact needs no second rewrite).
pub fn exports_of(engine: &wasmtime::Engine, component: &wasmtime::component::Component) -> Vec<InstanceExports> {
    let save_prefix = format!("{SAVE}-");
    component
        .component_type()
        .exports(engine)
        .filter_map(|(name, _)| name.strip_prefix(&save_prefix).map(|n| InstanceExports { save: name.to_string(), restore: format!("{RESTORE}-{n}") }))
        .collect()
}

/// Bump when [`instrument`]'s output changes: it is part of the cache key of the
/// rewritten component's artifact.
pub const REWRITE_VERSION: u32 = 1;

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
        let bytes = component.get(range.clone()).ok_or_else(|| NotRestorable::Parse(format!("core module {i} past the end")))?;
        let plan = plan_module(i as u32, bytes)?;
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
            let (Some(plan), Some(range)) = (plans.get(module_index), modules.get(module_index)) else {
                return Err(NotRestorable::Parse("a module section that did not parse".into()));
            };
            let bytes = component.get(range.clone()).ok_or_else(|| NotRestorable::Parse("a module section past the end".into()))?;
            module_index += 1;
            if !plan.rewritten() {
                out.section(&RawSection { id: *id, data: bytes });
            } else {
                let module = rewrite_module(bytes, &plan.written, plan.defined_memories > 0).map_err(NotRestorable::Parse)?;
                out.section(&wasm_encoder::ModuleSection(&module));
            }
        } else {
            let data = component.get(range.clone()).ok_or_else(|| NotRestorable::Parse("a section past the end".into()))?;
            out.section(&RawSection { id: *id, data });
        }
    }

    // Out-of-range module indices make the component invalid; it is refused, not indexed.
    let plan_of = |m: u32| plans.get(m as usize).ok_or_else(|| NotRestorable::Parse(format!("core module {m} does not exist")));
    let mut instrumented: Vec<u32> = Vec::new();
    for (i, m) in instance_module.iter().enumerate() {
        if let Some(m) = m {
            if plan_of(*m)?.rewritten() {
                instrumented.push(i as u32);
            }
        }
    }
    // The instance of the module that defines the memory, and the memory's export name.
    let memory_owner = instance_module.iter().enumerate().find_map(|(i, m)| {
        let plan = plans.get((*m)? as usize)?;
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
    for (n, instance) in instrumented.iter().enumerate() {
        let n = n as u32;
        aliases.alias(Alias::CoreInstanceExport { instance: *instance, kind: ExportKind::Func, name: SAVE });
        aliases.alias(Alias::CoreInstanceExport { instance: *instance, kind: ExportKind::Func, name: RESTORE });
        canon.lift(core_funcs + 2 * n, save_ty, none());
        canon.lift(core_funcs + 2 * n + 1, restore_ty, none());
        let save = format!("{SAVE}-i{instance}");
        let restore = format!("{RESTORE}-i{instance}");
        exports.export(save.as_str(), ComponentExportKind::Func, funcs + 2 * n, None);
        exports.export(restore.as_str(), ComponentExportKind::Func, funcs + 2 * n + 1, None);
        instances.push(InstanceExports { save, restore });
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
    // The sections the rewrite appends to; one the module lacks is created in its place.
    let appended = [S::Type, S::Function, S::Global, S::Export, S::Code].map(|s| rank(s as u8).expect("a core section"));

    let mut types = 0u32; // types defined (rec groups flattened)
    let mut imported_funcs = 0u32;
    let mut defined_funcs = 0u32;
    let mut globals = 0u32; // imported + defined, before the shadows
    let mut done = [false; 5]; // per `appended` entry
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
    let new_funcs = |section: &mut FunctionSection, types: u32| {
        section.function(types);
        section.function(types + 1);
        if probe {
            section.function(types + 1);
        }
    };

    for payload in Parser::new(0).parse_all(module) {
        let payload = payload.map_err(err)?;
        // Create each appended-to section the module lacks before the first section
        // that follows it (all of the remaining ones at the end).
        let next = match &payload {
            Payload::End(_) => Some(usize::MAX),
            p => p.as_section().and_then(|(id, _)| if id == 0 { None } else { rank(id) }),
        };
        if let Some(r) = next {
            for (k, at) in appended.iter().enumerate() {
                if done[k] || *at >= r {
                    continue;
                }
                done[k] = true;
                match k {
                    0 => {
                        let mut section = TypeSection::new();
                        section.ty().function([], []);
                        section.ty().function([], [ValType::I32]);
                        out.section(&section);
                    }
                    1 => {
                        let mut section = FunctionSection::new();
                        new_funcs(&mut section, types);
                        out.section(&section);
                    }
                    2 => {
                        first_shadow = globals;
                        let mut section = GlobalSection::new();
                        shadows(&mut section);
                        out.section(&section);
                    }
                    3 => {
                        let mut section = ExportSection::new();
                        add_exports(&mut section, imported_funcs + defined_funcs, probe);
                        out.section(&section);
                    }
                    _ => {
                        let mut section = CodeSection::new();
                        append_bodies(&mut section, written, first_shadow, probe);
                        out.section(&section);
                    }
                }
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
                done[0] = true;
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
                new_funcs(&mut section, types);
                done[1] = true;
                out.section(&section);
            }
            Payload::GlobalSection(reader) => {
                globals += reader.count();
                first_shadow = globals;
                let mut section = GlobalSection::new();
                re.parse_global_section(&mut section, reader).map_err(|e| format!("{e:?}"))?;
                shadows(&mut section);
                done[2] = true;
                out.section(&section);
            }
            Payload::ExportSection(reader) => {
                let mut section = ExportSection::new();
                re.parse_export_section(&mut section, reader).map_err(|e| format!("{e:?}"))?;
                add_exports(&mut section, imported_funcs + defined_funcs, probe);
                done[3] = true;
                out.section(&section);
            }
            Payload::CodeSectionStart { count, .. } => {
                done[4] = true;
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
    /// The pagemap entries of the last restore (kept: read on every call).
    entries: Vec<u8>,
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
        MemorySnapshot { at, bytes, entries: Vec::new() }
    }

    /// Put the memory at `now` back to the snapshot: the pages the kernel reports as
    /// written (present, not backed by the copy-on-write image; `/proc/self/pagemap`)
    /// are compared and copied back when they differ; without a readable pagemap,
    /// every page. Refused (the instance must be discarded) when the memory moved or
    /// changed size.
    ///
    /// # Safety
    /// `now` must describe the same live instance's memory, no wasm running in it.
    pub unsafe fn restore(&mut self, now: MemoryProbe, pagemap: Option<&std::fs::File>) -> Result<RestoreStats, String> {
        if now != self.at {
            return Err(format!("the memory moved or changed size ({:?} → {:?})", self.at, now));
        }
        if !self.at.base.is_multiple_of(PAGE) || !self.at.len.is_multiple_of(PAGE) {
            return Err("the memory is not page-aligned".into());
        }
        let pages = self.at.len / PAGE;
        self.entries.resize(pages * 8, 0);
        let known = pagemap.is_some_and(|f| {
            use std::os::unix::fs::FileExt;
            f.read_exact_at(&mut self.entries, (self.at.base / PAGE * 8) as u64).is_ok()
        });
        // Present (bit 63) and not the file/image page (bit 61): written by some call.
        let written = |p: usize| {
            let e = u64::from_le_bytes(self.entries[p * 8..p * 8 + 8].try_into().expect("8 bytes"));
            e >> 63 & 1 == 1 && e >> 61 & 1 == 0
        };
        // SAFETY: the caller's contract.
        let memory = unsafe { std::slice::from_raw_parts_mut(self.at.base as *mut u8, self.at.len) };
        let mut stats = RestoreStats::default();
        for p in 0..pages {
            if known && !written(p) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(wat: &str) -> NotRestorable {
        instrument(&wat::parse_str(wat).unwrap()).unwrap_err()
    }

    #[test]
    fn what_cannot_be_restored_is_refused() {
        let table = r#"(component (core module $m (memory (export "memory") 1) (table 1 funcref)
            (func (drop (table.grow (ref.null func) (i32.const 1))))) (core instance (instantiate $m)))"#;
        assert_eq!(refused(table), NotRestorable::TableOrSegment { module: 0, op: "table.grow" });
        let data_drop = r#"(component (core module $m (memory (export "memory") 1) (data "x") (func (data.drop 0))) (core instance (instantiate $m)))"#;
        assert_eq!(refused(data_drop), NotRestorable::TableOrSegment { module: 0, op: "data.drop" });
        let resource = r#"(component (type $r (resource (rep i32))) (core func (canon resource.new $r)))"#;
        assert_eq!(refused(resource), NotRestorable::Canon("ResourceNew".into()));
        let ref_global = r#"(component (core module $m (memory (export "memory") 1) (global (mut funcref) (ref.null func))
            (func (global.set 0 (ref.null func)))) (core instance (instantiate $m)))"#;
        assert!(matches!(refused(ref_global), NotRestorable::UnsupportedGlobal { module: 0, .. }));
        let two = r#"(component (core module $a (memory (export "memory") 1)) (core module $b (memory (export "memory") 1))
            (core instance (instantiate $a)) (core instance (instantiate $b)))"#;
        assert_eq!(refused(two), NotRestorable::Memories(2));
        let hidden = r#"(component (core module $m (memory 1)) (core instance (instantiate $m)))"#;
        assert_eq!(refused(hidden), NotRestorable::MemoryNotExported);
        assert!(matches!(refused("(module)"), NotRestorable::Parse(_)));
    }

    /// A module that writes only an imported global, with no global or export section
    /// of its own: the rewrite inserts both, and the result validates.
    #[test]
    fn the_rewrite_validates_and_is_deterministic() {
        let wat = r#"(component
            (core module $a (global (export "g") (mut i32) (i32.const 0)) (memory (export "memory") 1))
            (core instance $ia (instantiate $a))
            (core module $b (import "a" "g" (global (mut i32))) (func (global.set 0 (i32.const 5))))
            (core instance $ib (instantiate $b (with "a" (instance $ia)))))"#;
        let bytes = wat::parse_str(wat).unwrap();
        let r = instrument(&bytes).unwrap();
        assert_eq!(r.bytes, instrument(&bytes).unwrap().bytes);
        wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::all()).validate_all(&r.bytes).unwrap();
        let names: Vec<&str> = r.instances.iter().map(|e| e.restore.as_str()).collect();
        assert_eq!(names, ["ratchet-reset-restore-i0", "ratchet-reset-restore-i1"]);
    }

    /// Truncated and corrupted components are refused with an error, never a panic.
    #[test]
    fn malformed_components_are_refused_not_a_panic() {
        let wat = r#"(component (core module $m (memory (export "memory") 1) (global (mut i32) (i32.const 0))
            (func (global.set 0 (i32.const 1)))) (core instance (instantiate $m)))"#;
        let bytes = wat::parse_str(wat).unwrap();
        for cut in 0..bytes.len() {
            let _ = instrument(&bytes[..cut]);
        }
        for i in 8..bytes.len() {
            for b in [0x00, 0x7f, 0xff] {
                let mut bad = bytes.clone();
                bad[i] = b;
                let _ = instrument(&bad);
            }
        }
    }
}
