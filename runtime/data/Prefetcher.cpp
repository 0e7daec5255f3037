// The ring of staging buffers and its workers.
#include "runtime/data/Prefetcher.h"

#include <chrono>
#include <new>

namespace var::data {

StagingAllocator hostStagingAllocator() {
  return {
      [](size_t bytes) { return ::operator new(bytes, std::align_val_t(64)); },
      [](void *p) { ::operator delete(p, std::align_val_t(64)); }};
}

Prefetcher::Prefetcher(int64_t batch, int64_t clipFloats, int64_t slotCount,
                       int64_t workers, StagingAllocator allocator, Fill fill)
    : batch(batch), clipFloats(clipFloats), workerCount(workers),
      allocator(std::move(allocator)), fill(std::move(fill)),
      slots(workers > 0 ? std::max<int64_t>(slotCount, 1) : 1) {
  for (Slot &slot : slots) {
    slot.clips = static_cast<float *>(
        this->allocator.allocate(sizeof(float) * batch * clipFloats));
    slot.labels = static_cast<int64_t *>(
        this->allocator.allocate(sizeof(int64_t) * batch));
  }
}

Prefetcher::~Prefetcher() {
  stopWorkers();
  for (Slot &slot : slots) {
    allocator.release(slot.clips);
    allocator.release(slot.labels);
  }
}

void Prefetcher::stopWorkers() {
  {
    std::lock_guard<std::mutex> lock(mutex);
    stopping = true;
  }
  changed.notify_all();
  for (std::thread &thread : threads)
    thread.join();
  threads.clear();
  stopping = false;
}

void Prefetcher::startAt(int64_t item) {
  stopWorkers();
  for (Slot &slot : slots)
    slot.item = -1;
  nextClaim = item;
  current = item;
  for (int64_t i = 0; i < workerCount; ++i)
    threads.emplace_back([this] { work(); });
}

void Prefetcher::work() {
  std::unique_lock<std::mutex> lock(mutex);
  const int64_t slotCount = static_cast<int64_t>(slots.size());
  for (;;) {
    changed.wait(lock,
                 [&] { return stopping || nextClaim < current + slotCount; });
    if (stopping)
      return;
    const int64_t item = nextClaim++;
    Slot &slot = slots[item % slotCount];
    lock.unlock();
    std::string error = fill(item, slot.clips, slot.labels);
    lock.lock();
    slot.error = std::move(error);
    slot.item = item;
    changed.notify_all();
  }
}

std::string Prefetcher::get(int64_t item, const float *&clips,
                            const int64_t *&labels, double &waited) {
  auto begin = std::chrono::steady_clock::now();
  Slot *slot = &slots[0];
  if (workerCount == 0) {
    slot->error = fill(item, slot->clips, slot->labels);
  } else {
    if (threads.empty() || item != current + 1 || item < 0)
      startAt(item);
    std::unique_lock<std::mutex> lock(mutex);
    current = item;
    changed.notify_all();
    slot = &slots[item % static_cast<int64_t>(slots.size())];
    changed.wait(lock, [&] { return slot->item == item; });
  }
  waited +=
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin)
          .count();
  clips = slot->clips;
  labels = slot->labels;
  return slot->error;
}

} // namespace var::data
