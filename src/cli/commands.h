// SPDX-License-Identifier: MIT
#pragma once

#include <QStringList>

namespace mvent::cli {

/*!
    Runs the mvent command named in \a arguments, the full argument list with the program
    name first, and returns the process exit code (see ExitCode).
*/
int run(const QStringList &arguments);

} // namespace mvent::cli
