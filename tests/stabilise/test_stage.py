

def test_recover_sound_with_stabilise_survives_drift():
    import vismic
    from vismic import metrics, synth
    from vismic.denoise import highpass

    fps = 2200.0
    sound = synth.make_displacement(synth.music(duration_seconds=0.4, sr=fps), amplitude_px=0.05)
    scene = synth.render_nuisance_scene(synth.texture("brick", size=(64, 64)), sound,
                                        shift_x_px=synth.drift_motion(len(sound), total_px=3.0), noise_std=1.0,
                                        fps=fps)
    truth = highpass(scene.displacement_px, sr=fps)
    plain = vismic.recover_sound(scene.frames, fps=fps, denoise=None, grid=(4, 4), stabilise=False)
    steady = vismic.recover_sound(scene.frames, fps=fps, denoise=None, grid=(4, 4), stabilise=True)
    assert metrics.si_snr(steady.samples, truth) > metrics.si_snr(plain.samples, truth) + 6.0
