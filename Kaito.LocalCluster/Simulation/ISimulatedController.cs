namespace Kaito.LocalCluster.Simulation;

/// <summary>
/// One of the controllers a real cluster runs (kubelet, scheduler, workload controllers), simulated. A pass is
/// level-based: read the current objects, write what differs, and leave timers to the next pass.
/// </summary>
internal interface ISimulatedController
{
    void Reconcile(SimulationContext context);
}
