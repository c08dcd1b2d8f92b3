"""Lab 05's support code: everything the notebook imports that students do not write.

Students do not edit these files. The autograder ships its own copy of this folder, so changes
made here do not change how a submission is graded.

    constants   units, devices and their memory budgets, the activation functions and their cost
    validate    the argument validators the notebook's functions call (``validate_*``) and the
                prediction locks
    guards      time limits on the student's functions, and display cells that never crash
    ledger      the Design Ledger: build, check against its schema, write
    submit      the export for Gradescope
    checks      the public checks behind ``grader.check`` (no reference values), one module per act
    assertions  what the checks and the autograder's hidden tests share: calling student code under
                a time limit, and wording what came back
    displays    the figures and printed reveals, one module per act
"""
