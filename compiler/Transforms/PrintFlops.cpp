// --var-print-flops: the per-op numbers behind varc --summary, as remarks, so
// lit tests can pin every op's FLOP formula.
#include "compiler/Transforms/Passes.h"
#include "dialects/Var/IR/VarOps.h"

using namespace mlir;

namespace var {

#define GEN_PASS_DEF_PRINTFLOPS
#include "compiler/Transforms/Passes.h.inc"

namespace {
struct PrintFlopsPass : public impl::PrintFlopsBase<PrintFlopsPass> {
  void runOnOperation() override {
    getOperation().walk([](FlopCountOpInterface op) {
      if (std::optional<int64_t> flops = op.getForwardFlops())
        op->emitRemark("forward FLOPs: ") << *flops;
      else
        op->emitRemark("forward FLOPs unknown: a dimension is dynamic or the "
                       "count overflows 64 bits");
    });
    markAllAnalysesPreserved();
  }
};
} // namespace

} // namespace var
