// The timeline: runs placed end to end on the host's clock, the trace-event
// JSON, and the per-stream summary.
#include "runtime/train/Timeline.h"
#include "runtime/train/SafetensorsFormat.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace var::train {

using exec::PlanStream;

const char *getStreamName(PlanStream stream) {
  switch (stream) {
  case PlanStream::Compute:
    return "compute";
  case PlanStream::Comm:
    return "comm";
  case PlanStream::Copy:
    return "copy";
  case PlanStream::Host:
    return "host";
  }
  return "compute";
}

void Timeline::record(const plan::PlanFunction &function,
                      const std::vector<PlanStream> &streams,
                      const std::vector<double> &begin,
                      const std::vector<double> &end) {
  double length = 0;
  for (double t : end)
    length = std::max(length, t);
  // The run ended about now: its anchor was `length` earlier.
  auto now = std::chrono::steady_clock::now();
  if (!started) {
    started = true;
    start =
        now - std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                  std::chrono::duration<double>(length));
  }
  double offset = std::chrono::duration<double>(now - start).count() - length;
  offset = std::max(offset, lastEnd);
  for (size_t i = 0; i < function.instructions.size() && i < streams.size();
       ++i) {
    const plan::Instruction &inst = function.instructions[i];
    if (inst.op == "dist.record_event" || inst.op == "dist.wait_event" ||
        inst.op == "dist.release")
      continue;
    events.push_back({inst.op, function.name, inst.location, i, streams[i],
                      offset + begin[i], offset + std::max(begin[i], end[i])});
  }
  lastEnd = offset + length;
}

std::vector<std::pair<double, double>>
mergeIntervals(std::vector<std::pair<double, double>> intervals) {
  std::sort(intervals.begin(), intervals.end());
  std::vector<std::pair<double, double>> merged;
  for (const auto &interval : intervals) {
    if (interval.second <= interval.first)
      continue;
    if (!merged.empty() && interval.first <= merged.back().second)
      merged.back().second = std::max(merged.back().second, interval.second);
    else
      merged.push_back(interval);
  }
  return merged;
}

double totalLength(const std::vector<std::pair<double, double>> &merged) {
  double total = 0;
  for (const auto &interval : merged)
    total += interval.second - interval.first;
  return total;
}

double overlapLength(const std::vector<std::pair<double, double>> &a,
                     const std::vector<std::pair<double, double>> &b) {
  double total = 0;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    double from = std::max(a[i].first, b[j].first);
    double to = std::min(a[i].second, b[j].second);
    if (to > from)
      total += to - from;
    if (a[i].second < b[j].second)
      ++i;
    else
      ++j;
  }
  return total;
}

TimelineSummary Timeline::summarize() const {
  std::array<std::vector<std::pair<double, double>>, 4> lanes;
  for (const TimelineEvent &event : events)
    lanes[static_cast<size_t>(event.stream)].push_back(
        {event.begin, event.end});
  TimelineSummary summary;
  for (auto &lane : lanes)
    lane = mergeIntervals(std::move(lane));
  for (size_t s = 0; s < lanes.size(); ++s)
    summary.busy[s] = totalLength(lanes[s]);
  size_t comm = static_cast<size_t>(PlanStream::Comm);
  size_t compute = static_cast<size_t>(PlanStream::Compute);
  if (summary.busy[comm] > 0)
    summary.commUnderCompute =
        overlapLength(lanes[comm], lanes[compute]) / summary.busy[comm];
  return summary;
}

std::string Timeline::toJson() const {
  std::string out = "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n";
  std::string pid = std::to_string(rank);
  for (int s = 0; s < 4; ++s) {
    out += "{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": " + pid +
           ", \"tid\": " + std::to_string(s) + ", \"args\": {\"name\": ";
    format::appendJsonString(out, getStreamName(static_cast<PlanStream>(s)));
    out += "}},\n";
  }
  char number[64];
  for (const TimelineEvent &event : events) {
    out += "{\"name\": ";
    format::appendJsonString(out, event.op);
    out += ", \"cat\": ";
    format::appendJsonString(out, event.function);
    std::snprintf(number, sizeof(number), "%.3f", event.begin * 1e6);
    out += std::string(", \"ph\": \"X\", \"ts\": ") + number;
    std::snprintf(number, sizeof(number), "%.3f",
                  (event.end - event.begin) * 1e6);
    out +=
        std::string(", \"dur\": ") + number + ", \"pid\": " + pid +
        ", \"tid\": " + std::to_string(static_cast<int>(event.stream)) +
        ", \"args\": {\"instruction\": " + std::to_string(event.instruction) +
        ", \"location\": ";
    format::appendJsonString(out, event.location);
    out += "}},\n";
  }
  out += "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": " + pid +
         ", \"args\": {\"name\": \"rank " + pid + "\"}}\n]}\n";
  return out;
}

std::string Timeline::write(const std::string &path) const {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file)
    return "cannot create '" + path + "'";
  std::string json = toJson();
  file.write(json.data(), static_cast<std::streamsize>(json.size()));
  file.close();
  if (!file)
    return "cannot write '" + path + "'";
  return "";
}

std::string Timeline::report(int64_t steps) const {
  TimelineSummary summary = summarize();
  double per = 1000.0 / static_cast<double>(std::max<int64_t>(1, steps));
  std::string out;
  char text[128];
  for (int s = 0; s < 4; ++s) {
    std::snprintf(text, sizeof(text), "%s%s %.2f ms", s ? ", " : "",
                  getStreamName(static_cast<PlanStream>(s)),
                  summary.busy[s] * per);
    out += text;
    if (static_cast<PlanStream>(s) == PlanStream::Comm && summary.busy[s] > 0) {
      std::snprintf(text, sizeof(text), " (%.0f%% under compute)",
                    100.0 * summary.commUnderCompute);
      out += text;
    }
  }
  return out + " busy per step";
}

} // namespace var::train
