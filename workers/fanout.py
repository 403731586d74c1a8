"""How a job's gamma values are split into tasks: decided here and nowhere else."""


def plan_chunks(n_gammas: int, gammas_per_task: int) -> list[list[int]]:
    """Gamma indices per solve task, in order: ``gammas_per_task`` each (the last may have fewer).

    One gamma per task spreads a job over every free worker; larger chunks
    set the model up fewer times (it is compiled once per task and re-solved
    for each of its gammas).
    """
    size = max(1, gammas_per_task)
    return [list(range(start, min(start + size, n_gammas))) for start in range(0, n_gammas, size)]
