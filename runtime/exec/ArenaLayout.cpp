// Where the executor keeps a function's values beyond the planned arena:
// parameters and buffers read in place (no get_param copy), new running
// statistics written into their buffers (no update_buffer copy), unpacked
// parameters viewed where their all-gather wrote them, updates that store
// their rounded result themselves, and storage for what the planner left
// out of the arena.
#include "runtime/exec/Executor.h"

#include <algorithm>

namespace var::exec {

using plan::DType;

void Executor::aliasParameters(const plan::PlanFunction &function,
                               FunctionLayout &layout) {
  const std::vector<plan::Instruction> &code = function.instructions;
  std::vector<BufferRead> inPlace;
  // Per value, the last instruction reading it; per bucket, the first one
  // that may write its compute copy (an update writes it where the compute
  // copy is its own master: f32); per buffer (a parameter outside the
  // buckets: batch norm's running statistics), its first var.update_buffer.
  std::vector<size_t> lastRead(function.values.size(), 0);
  std::vector<size_t> firstWrite(buckets.size(), code.size());
  std::vector<size_t> firstUpdate(plan.params.size(), code.size());
  for (size_t i = 0; i < code.size(); ++i) {
    for (uint32_t id : code[i].operands)
      lastRead[id] = i;
    if (code[i].op == "var.update_buffer")
      if (const plan::SymbolRef *name = code[i].findSymbol("name");
          name && name->kind == plan::SymbolKind::Param &&
          name->index < firstUpdate.size())
        firstUpdate[name->index] = std::min(firstUpdate[name->index], i);
    const plan::SymbolRef *bucket = code[i].findSymbol("bucket");
    bool writes = code[i].op == "dist.store_params" ||
                  code[i].op == "dist.adamw_update" ||
                  code[i].op == "dist.sgd_update";
    if (writes && bucket && bucket->kind == plan::SymbolKind::Bucket &&
        bucket->index < firstWrite.size())
      firstWrite[bucket->index] = std::min(firstWrite[bucket->index], i);
  }
  // A result aliases its bucket (or buffer) only where reading it at each
  // use gives what the copy would have held: every reader runs on the
  // compute stream before the bucket's first store (the buffer's first
  // update; also on the compute stream, in program order), and the types
  // agree so that the copy converts nothing. At stage 3 the plan gathers
  // the parameters; buffers are whole on every rank.
  for (size_t i = 0; i < code.size(); ++i) {
    const plan::Instruction &inst = code[i];
    if (inst.op != "var.get_param" || inst.results.size() != 1)
      continue;
    const plan::SymbolRef *symbol = inst.findSymbol("name");
    if (!symbol || symbol->kind != plan::SymbolKind::Param ||
        symbol->index >= plan.params.size())
      continue;
    auto [b, offset] = location[symbol->index];
    uint32_t id = inst.results[0];
    bool buffer = b < 0;
    if ((!buffer && stage == 3) || layout.onHost[id] ||
        (buffer ? buffers[symbol->index].isHost()
                : buckets[b].params.isHost()) ||
        function.values[id].dtype !=
            (buffer ? plan.params[symbol->index].dtype : buckets[b].dtype) ||
        layout.streams[i] != PlanStream::Compute)
      continue;
    size_t store = buffer ? firstUpdate[symbol->index]
                          : firstWrite[static_cast<size_t>(b)];
    bool safe =
        lastRead[id] < store &&
        (store == code.size() || layout.streams[store] == PlanStream::Compute);
    for (size_t j = i + 1; safe && j <= lastRead[id]; ++j)
      if (std::find(code[j].operands.begin(), code[j].operands.end(), id) !=
          code[j].operands.end())
        safe = layout.streams[j] == PlanStream::Compute;
    if (safe) {
      layout.paramAliases.emplace_back(
          id, buffer ? buffers[symbol->index].data()
                     : paramsData(buckets[b]).at(offset).data);
      if (buffer)
        inPlace.push_back({id, symbol->index});
    }
  }
  writeBuffersInPlace(function, layout, inPlace);
}

void Executor::writeBuffersInPlace(const plan::PlanFunction &function,
                                   FunctionLayout &layout,
                                   const std::vector<BufferRead> &inPlace) {
  const std::vector<plan::Instruction> &code = function.instructions;
  size_t count = function.values.size();
  std::vector<size_t> producer(count, code.size());
  std::vector<std::vector<size_t>> readers(count);
  for (size_t i = 0; i < code.size(); ++i) {
    for (uint32_t id : code[i].results)
      producer[id] = i;
    for (uint32_t id : code[i].operands)
      readers[id].push_back(i);
  }
  for (uint32_t id : function.results)
    readers[id].push_back(code.size());
  // A batch norm's training forward reads running statistic k (operand 3
  // or 4) at channel c and only then writes its new value (result 3 or 4;
  // 4 or 5 after the pool's two) at c, on the CPU and in CUDA alike: the
  // one reader that may write the buffer it reads.
  auto updatesInPlace = [&](size_t i, uint32_t read, uint32_t written) {
    const plan::Instruction &inst = code[i];
    size_t skip = inst.op == "var.batch_norm_train_max_pool" ? 1 : 0;
    if (inst.op != "var.batch_norm_train" && skip == 0)
      return false;
    for (size_t k : {3, 4})
      if (k < inst.operands.size() && k + skip < inst.results.size() &&
          inst.operands[k] == read && inst.results[k + skip] == written)
        return true;
    return false;
  };
  for (size_t u = 0; u < code.size(); ++u) {
    const plan::Instruction &update = code[u];
    if (update.op != "var.update_buffer" || update.operands.size() != 1 ||
        layout.streams[u] != PlanStream::Compute)
      continue;
    const plan::SymbolRef *symbol = update.findSymbol("name");
    if (!symbol || symbol->kind != plan::SymbolKind::Param ||
        symbol->index >= plan.params.size() ||
        location[symbol->index].first >= 0 || buffers[symbol->index].isHost())
      continue;
    uint32_t value = update.operands[0];
    size_t i = producer[value];
    if (i == code.size() || readers[value].size() != 1 ||
        layout.onHost[value] ||
        function.values[value].dtype != plan.params[symbol->index].dtype ||
        layout.streams[i] != PlanStream::Compute)
      continue;
    // Nothing reads the buffer's old values after instruction i writes it:
    // no var.get_param of it runs from i to the update, and every reader
    // of one read in place runs before i, or is i updating it in place.
    bool safe = true;
    for (size_t j = i; safe && j <= u; ++j)
      if (code[j].op == "var.get_param")
        if (const plan::SymbolRef *name = code[j].findSymbol("name"))
          safe = !(name->kind == plan::SymbolKind::Param &&
                   name->index == symbol->index);
    for (const BufferRead &read : inPlace)
      if (read.param == symbol->index)
        for (size_t reader : readers[read.value])
          safe = safe && (reader < i || (reader == i &&
                                         updatesInPlace(i, read.value, value)));
    if (safe)
      layout.paramAliases.emplace_back(value, buffers[symbol->index].data());
  }
}

void Executor::fuseStores(const plan::PlanFunction &function,
                          FunctionLayout &layout) {
  const std::vector<plan::Instruction> &code = function.instructions;
  layout.storesItself.assign(code.size(), false);
  layout.skipped.assign(code.size(), false);
  layout.roundsInto.assign(code.size(), -1);
  // Per value, its readers (a function result counts as one, never fused).
  std::vector<std::vector<size_t>> readers(function.values.size());
  for (size_t i = 0; i < code.size(); ++i)
    for (uint32_t id : code[i].operands)
      readers[id].push_back(i);
  for (uint32_t id : function.results)
    readers[id].push_back(code.size());
  auto onlyReader = [&](uint32_t id) {
    return readers[id].size() == 1 ? readers[id][0] : code.size();
  };
  for (size_t i = 0; i < code.size(); ++i) {
    const plan::Instruction &update = code[i];
    if ((update.op != "dist.adamw_update" && update.op != "dist.sgd_update") ||
        update.results.size() != 1)
      continue;
    const plan::SymbolRef *bucket = update.findSymbol("bucket");
    if (!bucket || bucket->kind != plan::SymbolKind::Bucket ||
        bucket->index >= buckets.size())
      continue;
    const Bucket &target = buckets[bucket->index];
    uint32_t weights = update.results[0];
    size_t cast = onlyReader(weights);
    if (cast == code.size() || code[cast].op != "var.cast" ||
        code[cast].results.size() != 1)
      continue;
    uint32_t rounded = code[cast].results[0];
    if (stage != 0) {
      // Offloaded (stages 1-3): the host update rounds the new shard into
      // the cast's result, which the plan then copies to the device; the
      // same rounding as var.cast's, in the update's pass.
      if (layout.streams[i] == PlanStream::Host &&
          layout.streams[cast] == PlanStream::Host &&
          function.values[rounded].dtype == DType::BF16 &&
          function.values[weights].shape == function.values[rounded].shape &&
          layout.onHost[weights] == layout.onHost[rounded]) {
        layout.roundsInto[i] = rounded;
        layout.skipped[cast] = true;
      }
      continue; // the update's result is gathered before it is stored
    }
    size_t store = onlyReader(rounded);
    if (store == code.size() || code[store].op != "dist.store_params")
      continue;
    const plan::SymbolRef *stored = code[store].findSymbol("bucket");
    bool sameStream = layout.streams[i] == PlanStream::Compute &&
                      layout.streams[cast] == PlanStream::Compute &&
                      layout.streams[store] == PlanStream::Compute;
    if (!stored || stored->index != bucket->index || !sameStream ||
        function.values[rounded].dtype != DType::BF16 ||
        target.dtype != DType::BF16 || target.params.isHost() ||
        target.master.isHost() || layout.onHost[weights])
      continue;
    int64_t elements = 1;
    for (int64_t dim : function.values[rounded].shape)
      elements *= dim;
    if (elements != target.padded)
      continue;
    layout.storesItself[i] = true;
    layout.skipped[cast] = layout.skipped[store] = true;
  }
}

int64_t Executor::unpackOffset(const plan::Instruction &inst) const {
  const plan::SymbolRef *bucket = inst.findSymbol("bucket");
  const plan::SymbolRef *param = inst.findSymbol("param");
  if (!bucket || bucket->kind != plan::SymbolKind::Bucket || !param ||
      bucket->index >= plan.buckets.size())
    return -1;
  const plan::PlanBucket &source = plan.buckets[bucket->index];
  for (size_t i = 0; i < source.params.size(); ++i)
    if (source.params[i] == param->index)
      return source.offsets[i];
  return -1;
}

void Executor::viewUnpacked(const plan::PlanFunction &function,
                            FunctionLayout &layout) const {
  // A parameter unpacked from its gathered bucket is read where the gather
  // put it. The bucket value is written once a run, by its all-gather, and
  // the planner leaves it out of the arena (its room is its own for the
  // run), so every read of the view sees the gathered parameter; the view
  // is 128-byte aligned (kAlignElements) as a get_param alias is.
  std::vector<bool> gathered(function.values.size(), false);
  for (const plan::Instruction &inst : function.instructions) {
    if (inst.op == "dist.all_gather" && inst.results.size() == 1)
      gathered[inst.results[0]] = true;
    if (inst.op != "dist.unpack" || inst.operands.size() != 1 ||
        inst.results.size() != 1 || !gathered[inst.operands[0]])
      continue;
    uint32_t bucket = inst.operands[0], id = inst.results[0];
    const plan::PlanValue &from = function.values[bucket];
    const plan::PlanValue &to = function.values[id];
    int64_t offset = unpackOffset(inst);
    if (offset < 0 || from.dtype != to.dtype || from.arenaOffset >= 0 ||
        to.arenaOffset >= 0 || layout.onHost[bucket] != layout.onHost[id])
      continue;
    layout.unpackViews.push_back(
        {id, bucket, offset * plan::getDTypeBytes(from.dtype)});
  }
}

std::vector<int64_t>
Executor::leftOutStorage(const plan::PlanFunction &function,
                         const FunctionLayout &layout) const {
  const std::vector<plan::Instruction> &code = function.instructions;
  size_t count = function.values.size();
  std::vector<int64_t> storage(count);
  for (size_t id = 0; id < count; ++id)
    storage[id] = static_cast<int64_t>(id);
  for (const auto &[id, address] : layout.paramAliases)
    storage[id] = -1;
  for (const UnpackView &view : layout.unpackViews)
    storage[view.id] = -1;
  std::vector<int> reads(count, 0);
  std::vector<bool> readByRun(count, false); // by what is not skipped
  for (size_t i = 0; i < code.size(); ++i)
    for (uint32_t id : code[i].operands) {
      ++reads[id];
      readByRun[id] = readByRun[id] || !layout.skipped[i];
    }
  for (uint32_t id : function.results) {
    ++reads[id];
    readByRun[id] = true;
  }
  for (size_t i = 0; i < code.size(); ++i) {
    const plan::Instruction &inst = code[i];
    if (layout.skipped[i] || layout.storesItself[i] ||
        layout.roundsInto[i] >= 0) {
      // What a fused update writes elsewhere, or a skipped cast or store
      // leaves unwritten, needs room only where the run still reads it
      // (the cast's result an offloaded update rounds into).
      for (uint32_t id : inst.results)
        if (!readByRun[id])
          storage[id] = -1;
      continue;
    }
    if (inst.op != "dist.all_reduce" || inst.operands.size() != 1 ||
        inst.results.size() != 1)
      continue;
    uint32_t in = inst.operands[0], out = inst.results[0];
    const plan::PlanValue &a = function.values[in], &b = function.values[out];
    if (in < out && reads[in] == 1 && storage[in] == in && a.arenaOffset < 0 &&
        b.arenaOffset < 0 && a.dtype == b.dtype && a.shape == b.shape &&
        layout.onHost[in] == layout.onHost[out])
      storage[out] = in;
  }
  return storage;
}

} // namespace var::exec
